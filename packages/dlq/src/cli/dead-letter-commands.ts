import { connectAmqp, type AmqpConnection } from '@gozon/messaging';
import { readConfig } from '@gozon/platform';
import { DeadLetterQueueMissingError, dlqAmqpSettings, type DeadLetterSelection } from '../dead-letter-queues.ts';
import type { DeadLetter } from '../describe-dead-letter.ts';
import { dropDeadLetters } from '../drop-dead-letters.ts';
import { listDeadLetters } from '../list-dead-letters.ts';
import { replayDeadLetters, type ReplayedDeadLetter } from '../replay-dead-letters.ts';
import { DeadLetterOperationError } from '../take-dead-letters.ts';
import { deadLetterSelection, type DeadLetterCommand, type Invocation } from './invocation.ts';
import { cell, describeError, redacted, reportMissingIds, summarize, table } from './output.ts';

function printList(letters: DeadLetter[], namespace: string): void {
  const queues = [...new Set(letters.map((letter) => letter.queue))];
  for (const queue of queues) {
    const inQueue = letters.filter((letter) => letter.queue === queue);
    console.log(`${queue} (${inQueue.length})`);
    const rows = [['MESSAGE ID', 'DEAD-LETTERED AT', 'ROUTING KEY', 'ERROR', 'BODY']];
    for (const letter of inQueue) {
      rows.push([
        cell(letter.messageId, 36),
        cell(letter.deadLetteredAt, 24),
        cell(letter.routingKey, 30),
        cell(letter.error, 70),
        cell(letter.preview, 60),
      ]);
    }
    for (const line of table(rows)) console.log(`  ${line}`);
    console.log('');
  }
  const where = namespace === '' ? 'the default namespace' : `namespace '${namespace}'`;
  console.log(`${letters.length} dead letter${letters.length === 1 ? '' : 's'} in ${where}`);
}

function describeOne(letter: DeadLetter): string {
  return `${letter.messageId ?? '(no message id)'} from ${letter.queue} (${letter.routingKey}; ${cell(letter.error, 70)})`;
}

function printDone(command: 'replay' | 'drop', done: Array<DeadLetter | ReplayedDeadLetter>, json: boolean): void {
  for (const letter of done) {
    const replayFailure = 'replayed' in letter && !letter.replayed ? (letter.failure ?? 'not replayed') : undefined;
    if (json) {
      console.log(JSON.stringify({ action: command, ...letter }));
    } else if (command === 'drop') {
      console.log(`dropped ${describeOne(letter)}`);
    } else if (replayFailure === undefined) {
      console.log(`replayed ${describeOne(letter)} → ${letter.routingKey}`);
    } else {
      console.log(`NOT replayed ${describeOne(letter)}: ${replayFailure}; it stays in the DLQ`);
    }
  }
  const succeeded = done.filter((letter) => !('replayed' in letter) || letter.replayed).length;
  summarize(
    command === 'drop' ? `${succeeded} dropped` : `${succeeded} replayed, ${done.length - succeeded} not replayed`,
    json,
  );
}

async function runDeadLetterCommand(
  connection: AmqpConnection,
  namespace: string,
  command: DeadLetterCommand,
  selection: DeadLetterSelection,
  json: boolean,
): Promise<number> {
  const ids = selection.ids ?? [];
  const where = selection.queue ? ` in ${selection.queue}` : '';
  if (command === 'list') {
    const letters = await listDeadLetters(connection, namespace, selection);
    if (json) for (const letter of letters) console.log(JSON.stringify(letter));
    else printList(letters, namespace);
    return reportMissingIds(ids, letters, 'dead letter', where) ? 1 : 0;
  }
  let done: Array<DeadLetter | ReplayedDeadLetter>;
  try {
    done =
      command === 'replay'
        ? await replayDeadLetters(connection, namespace, selection)
        : await dropDeadLetters(connection, namespace, selection);
  } catch (error) {
    if (error instanceof DeadLetterOperationError) printDone(command, error.done as DeadLetter[], json);
    throw error;
  }
  printDone(command, done, json);
  const notReplayed = done.some((letter) => 'replayed' in letter && !letter.replayed);
  return reportMissingIds(ids, done, 'dead letter', where) || notReplayed ? 1 : 0;
}

/** list, replay, drop: RabbitMQ only. Answers the exit code (see runDlq); throws UsageError or ConfigError. */
export async function onDeadLetters(command: DeadLetterCommand, invocation: Invocation): Promise<number> {
  const config = readConfig(dlqAmqpSettings);
  const namespace = config.AMQP_NAMESPACE;
  const selection = deadLetterSelection(invocation, namespace);
  let connection: AmqpConnection;
  try {
    connection = await connectAmqp(config.AMQP_URL, 'gozon-dlq');
  } catch (error) {
    console.error(`dlq: cannot connect to RabbitMQ at ${redacted(config.AMQP_URL)}: ${describeError(error)}`);
    return 1;
  }
  let lost: Error | undefined;
  connection.on('error', (error: Error) => (lost ??= error));
  try {
    return await runDeadLetterCommand(connection, namespace, command, selection, invocation.json);
  } catch (error) {
    if (error instanceof DeadLetterQueueMissingError) {
      console.error(`dlq: ${error.message}`);
    } else {
      const cause = error instanceof DeadLetterOperationError ? error.cause : error;
      console.error(
        `dlq: ${command} failed: ${describeError(lost ?? cause)}; every message not reported above is still in its DLQ`,
      );
    }
    return 1;
  } finally {
    await connection.close().catch(() => {});
  }
}
