// The dead-letter queues of a namespace: see what is in them, put messages back
// on the exchange once their cause is fixed, or throw them away.
//   npm run dlq -- list|replay|drop [--queue Q] [--id ID ...] [--json]
// Reads AMQP_URL and AMQP_NAMESPACE from the environment, like every service.
// Exit codes: 0 done, 1 broker or queue trouble (or a message not found / not replayed), 2 bad usage.
import { parseArgs } from 'node:util';
import {
  connectAmqp,
  deadLetterQueuesOf,
  DeadLetterOperationError,
  DeadLetterQueueMissingError,
  dropDeadLetters,
  listDeadLetters,
  replayDeadLetters,
  type AmqpConnection,
  type DeadLetter,
  type DeadLetterSelection,
  type ReplayedDeadLetter,
} from '@gozon/messaging';
import { amqpSettings, ConfigError, readConfig } from '@gozon/runtime';

const USAGE = `usage: npm run dlq -- <command> [--queue <dlq>] [--id <message id> ...] [--json]

commands:
  list     show the dead letters; every message stays in its queue
  replay   publish them again to the exchange with their original routing key,
           properties and message id (without the dead-lettering headers);
           each leaves its DLQ only after the broker has confirmed the new copy
  drop     delete them for good

options:
  --queue <dlq>   only this dead-letter queue (its full name, as list shows it)
  --id <id>       only the message with this message id; repeat for more
  --json          one JSON object per line instead of a table
  -h, --help      this text

Without --queue or --id a command applies to every message of every DLQ.
With --json, run \`npm run -s dlq -- ...\` so that npm's own lines stay out of stdout.
Environment: AMQP_URL (default amqp://guest:guest@127.0.0.1:5672), AMQP_NAMESPACE (default '').
Exit codes: 0 done; 1 RabbitMQ unreachable, a queue missing, an --id not found
or a message not replayed; 2 bad usage or configuration.`;

const COMMANDS = ['list', 'replay', 'drop'] as const;
type Command = (typeof COMMANDS)[number];

class UsageError extends Error {
  override name = 'UsageError';
}

interface Invocation {
  command: Command;
  selection: DeadLetterSelection;
  json: boolean;
}

function parseInvocation(argv: string[], namespace: string): Invocation | 'help' {
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
  if (!COMMANDS.includes(command)) throw new UsageError(`unknown command ${JSON.stringify(positionals[0])}`);
  const queues = deadLetterQueuesOf(namespace);
  if (values.queue !== undefined && !queues.includes(values.queue)) {
    throw new UsageError(`--queue ${values.queue} is not a dead-letter queue of namespace '${namespace}'; they are:\n  ${queues.join('\n  ')}`);
  }
  const ids = values.id ?? [];
  if (ids.some((id) => id.trim() === '')) throw new UsageError('--id needs a message id');
  return { command, selection: { queue: values.queue, ids }, json: values.json };
}

/** The URL without its password, for messages. */
function redacted(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

function cell(value: string | undefined, width: number): string {
  const text = (value ?? '-').replace(/\s+/g, ' ');
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((value, column) => (column === row.length - 1 ? value : value.padEnd(widths[column]!))).join('  ').trimEnd());
}

function printList(letters: DeadLetter[], namespace: string): void {
  const queues = [...new Set(letters.map((letter) => letter.queue))];
  for (const queue of queues) {
    const inQueue = letters.filter((letter) => letter.queue === queue);
    console.log(`${queue} (${inQueue.length})`);
    const rows = [['MESSAGE ID', 'DEAD-LETTERED AT', 'ROUTING KEY', 'ERROR', 'BODY']];
    for (const letter of inQueue) {
      rows.push([cell(letter.messageId, 36), cell(letter.deadLetteredAt, 24), cell(letter.routingKey, 30), cell(letter.error, 70), cell(letter.preview, 60)]);
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
  const summary = command === 'drop' ? `${succeeded} dropped` : `${succeeded} replayed, ${done.length - succeeded} not replayed`;
  // With --json stdout carries only the objects; the count goes to stderr.
  if (json) console.error(summary);
  else console.log(summary);
}

/** The requested ids that matched nothing; said on stderr, and the exit code is 1. */
function reportMissingIds(selection: DeadLetterSelection, found: DeadLetter[]): boolean {
  const missing = (selection.ids ?? []).filter((id) => !found.some((letter) => letter.messageId === id));
  for (const id of missing) console.error(`not found: no dead letter with message id ${id}${selection.queue ? ` in ${selection.queue}` : ''}`);
  return missing.length > 0;
}

async function run(connection: AmqpConnection, namespace: string, invocation: Invocation): Promise<number> {
  const { command, selection, json } = invocation;
  if (command === 'list') {
    const letters = await listDeadLetters(connection, namespace, selection);
    if (json) for (const letter of letters) console.log(JSON.stringify(letter));
    else printList(letters, namespace);
    return reportMissingIds(selection, letters) ? 1 : 0;
  }
  let done: Array<DeadLetter | ReplayedDeadLetter>;
  try {
    done = command === 'replay' ? await replayDeadLetters(connection, namespace, selection) : await dropDeadLetters(connection, namespace, selection);
  } catch (error) {
    if (error instanceof DeadLetterOperationError) printDone(command, error.done as DeadLetter[], json);
    throw error;
  }
  printDone(command, done, json);
  const notReplayed = done.some((letter) => 'replayed' in letter && !letter.replayed);
  return reportMissingIds(selection, done) || notReplayed ? 1 : 0;
}

async function main(): Promise<number> {
  let config;
  try {
    config = readConfig(amqpSettings);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`dlq: ${error.message}`);
    return 2;
  }
  const namespace = config.AMQP_NAMESPACE;

  let invocation;
  try {
    invocation = parseInvocation(process.argv.slice(2), namespace);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`dlq: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (invocation === 'help') {
    console.log(USAGE);
    return 0;
  }

  let connection: AmqpConnection;
  try {
    connection = await connectAmqp(config.AMQP_URL, 'gozon-dlq');
  } catch (error) {
    console.error(`dlq: cannot connect to RabbitMQ at ${redacted(config.AMQP_URL)}: ${(error as Error).message || String(error)}`);
    return 1;
  }
  let lost: Error | undefined;
  connection.on('error', (error: Error) => (lost ??= error));
  try {
    return await run(connection, namespace, invocation);
  } catch (error) {
    if (error instanceof DeadLetterQueueMissingError) {
      console.error(`dlq: ${error.message}`);
    } else {
      const cause = error instanceof DeadLetterOperationError ? error.cause : error;
      console.error(`dlq: ${invocation.command} failed: ${(lost ?? (cause as Error)).message ?? String(cause)}; every message not reported above is still in its DLQ`);
    }
    return 1;
  } finally {
    await connection.close().catch(() => {});
  }
}

process.exitCode = await main();
