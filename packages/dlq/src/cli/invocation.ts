import { parseArgs } from 'node:util';
import { deadLetterQueuesOf, type DeadLetterSelection } from '../dead-letter-queues.ts';

const DEAD_LETTER_COMMANDS = ['list', 'replay', 'drop'] as const;
const OUTBOX_COMMANDS = ['list-outbox', 'retry-outbox'] as const;
export type DeadLetterCommand = (typeof DEAD_LETTER_COMMANDS)[number];
export type OutboxCommand = (typeof OUTBOX_COMMANDS)[number];
type Command = DeadLetterCommand | OutboxCommand;

/** The command line is wrong: the tool says why, then the usage, and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The command line, parsed. */
export interface Invocation {
  command: Command;
  queue: string | undefined;
  ids: string[];
  json: boolean;
}

/** list-outbox and retry-outbox, which work on the databases (the others work on RabbitMQ). */
export function isOutboxCommand(command: Command): command is OutboxCommand {
  return (OUTBOX_COMMANDS as readonly string[]).includes(command);
}

/** The command line, checked for everything but whether --queue names a DLQ (that needs the namespace). */
export function parseInvocation(argv: string[]): Invocation | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        queue: { type: 'string' },
        id: { type: 'string', multiple: true },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals.length === 0) throw new UsageError('missing command');
  if (positionals.length > 1) throw new UsageError(`one command at a time, got: ${positionals.join(' ')}`);
  const command = positionals[0] as Command;
  if (![...DEAD_LETTER_COMMANDS, ...OUTBOX_COMMANDS].includes(command))
    throw new UsageError(`unknown command ${JSON.stringify(positionals[0])}`);
  if (values.queue !== undefined && isOutboxCommand(command))
    throw new UsageError(`--queue selects a dead-letter queue; ${command} works on the outbox rows of both databases`);
  const ids = values.id ?? [];
  if (ids.some((id) => id.trim() === '')) throw new UsageError('--id needs a message id');
  return { command, queue: values.queue, ids, json: values.json };
}

/** What the dead-letter commands work on; fails (bad usage) when --queue is not a DLQ of the namespace. */
export function deadLetterSelection(invocation: Invocation, namespace: string): DeadLetterSelection {
  const queues = deadLetterQueuesOf(namespace);
  if (invocation.queue !== undefined && !queues.includes(invocation.queue)) {
    throw new UsageError(
      `--queue ${invocation.queue} is not a dead-letter queue of namespace '${namespace}'; they are:\n  ${queues.join('\n  ')}`,
    );
  }
  return { queue: invocation.queue, ids: invocation.ids };
}
