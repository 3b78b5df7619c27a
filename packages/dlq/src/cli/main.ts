import { ConfigError } from '@gozon/platform';
import { onDeadLetters } from './dead-letter-commands.ts';
import { isOutboxCommand, parseInvocation, UsageError } from './invocation.ts';
import { onOutbox } from './outbox-commands.ts';
import { USAGE } from './usage.ts';

/**
 * Runs the DLQ tool on a command line (without `node` and the script): prints
 * what it did, and answers the exit code: 0 done; 1 trouble with RabbitMQ or a
 * database, a queue missing, an --id not found or a message not replayed; 2 bad
 * usage or configuration. Any other error is a bug and is thrown.
 */
export async function runDlq(argv: string[]): Promise<number> {
  try {
    const invocation = parseInvocation(argv);
    if (invocation === 'help') {
      console.log(USAGE);
      return 0;
    }
    return isOutboxCommand(invocation.command)
      ? await onOutbox(invocation.command, invocation)
      : await onDeadLetters(invocation.command, invocation);
  } catch (error) {
    if (error instanceof UsageError) console.error(`dlq: ${error.message}\n\n${USAGE}`);
    else if (error instanceof ConfigError) console.error(`dlq: ${error.message}`);
    else throw error;
    return 2;
  }
}
