// What did not get through, and putting it back once its cause is fixed: the
// dead-letter queues of a namespace (see them, replay them on the exchange, or
// throw them away), and the outbox rows a relay set aside in either domain's
// database (see them, retry them).
//   npm run dlq -- list|replay|drop|list-outbox|retry-outbox [--queue Q] [--id ID ...] [--json]
// Reads AMQP_URL and AMQP_NAMESPACE (dead letters) or ORDERS_DATABASE_URL and
// PAYMENTS_DATABASE_URL (outbox rows) from the environment, like every service.
// Exit codes: 0 done, 1 broker, database or queue trouble (or a message not found / not replayed), 2 bad usage.
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
import { amqpSettings, ConfigError, readConfig } from '@gozon/platform';
import { outboxDatabaseSettings, SET_ASIDE_PER_RUN, workOnSetAside, type OutboxOutcome, type SetAsideRow } from './lib/failed-outbox.ts';

const USAGE = `usage: npm run dlq -- <command> [--queue <dlq>] [--id <message id> ...] [--json]

dead letters, in RabbitMQ:
  list          show the dead letters; every message stays in its queue
  replay        publish them again to the exchange with their original routing key,
                properties and message id (without the dead-lettering headers);
                each leaves its DLQ only after the broker has confirmed the new copy
  drop          delete them for good

outbox rows a relay set aside, in the orders and payments databases (their publish
failed on their own account, e.g. unroutable, OUTBOX_MAX_ATTEMPTS times):
  list-outbox   show them with their last error; nothing changes
  retry-outbox  put them back in line with a fresh count: a relay publishes them
                within its poll interval (and sets them aside again if they fail again)

options:
  --queue <dlq>   only this dead-letter queue (its full name, as list shows it)
  --id <id>       only the message with this message id (an outbox row's id is
                  its message id); repeat for more
  --json          one JSON object per line instead of a table
  -h, --help      this text

Without --queue or --id a command applies to every message of every DLQ, or to
every set-aside row of both outboxes (the oldest ${SET_ASIDE_PER_RUN} of each per run).
With --json, run \`npm run -s dlq -- ...\` so that npm's own lines stay out of stdout.
Environment: AMQP_URL (default ${amqpSettings.AMQP_URL.default}), AMQP_NAMESPACE (default '${amqpSettings.AMQP_NAMESPACE.default}');
ORDERS_DATABASE_URL (default ${outboxDatabaseSettings.ORDERS_DATABASE_URL.default}),
PAYMENTS_DATABASE_URL (default ${outboxDatabaseSettings.PAYMENTS_DATABASE_URL.default}),
DB_CONNECTION_TIMEOUT_MS and DB_STATEMENT_TIMEOUT_MS bound each wait on them.
Exit codes: 0 done; 1 RabbitMQ or a database unreachable, a queue missing, an --id
not found or a message not replayed; 2 bad usage or configuration.`;

const DEAD_LETTER_COMMANDS = ['list', 'replay', 'drop'] as const;
const OUTBOX_COMMANDS = ['list-outbox', 'retry-outbox'] as const;
type DeadLetterCommand = (typeof DEAD_LETTER_COMMANDS)[number];
type OutboxCommand = (typeof OUTBOX_COMMANDS)[number];
type Command = DeadLetterCommand | OutboxCommand;

class UsageError extends Error {
  override name = 'UsageError';
}

interface Invocation {
  command: Command;
  queue: string | undefined;
  ids: string[];
  json: boolean;
}

function isOutboxCommand(command: Command): command is OutboxCommand {
  return (OUTBOX_COMMANDS as readonly string[]).includes(command);
}

/** The command line, checked for everything but whether --queue names a DLQ (that needs the namespace). */
function parseInvocation(argv: string[]): Invocation | 'help' {
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
  if (![...DEAD_LETTER_COMMANDS, ...OUTBOX_COMMANDS].includes(command)) throw new UsageError(`unknown command ${JSON.stringify(positionals[0])}`);
  if (values.queue !== undefined && isOutboxCommand(command)) throw new UsageError(`--queue selects a dead-letter queue; ${command} works on the outbox rows of both databases`);
  const ids = values.id ?? [];
  if (ids.some((id) => id.trim() === '')) throw new UsageError('--id needs a message id');
  return { command, queue: values.queue, ids, json: values.json };
}

/** What the dead-letter commands work on; fails (bad usage) when --queue is not a DLQ of the namespace. */
function deadLetterSelection(invocation: Invocation, namespace: string): DeadLetterSelection {
  const queues = deadLetterQueuesOf(namespace);
  if (invocation.queue !== undefined && !queues.includes(invocation.queue)) {
    throw new UsageError(`--queue ${invocation.queue} is not a dead-letter queue of namespace '${namespace}'; they are:\n  ${queues.join('\n  ')}`);
  }
  return { queue: invocation.queue, ids: invocation.ids };
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

/** An error's own words; a connect that failed on every address (AggregateError) has none of its own. */
function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.message === '') return error.errors.map(describeError).join('; ');
  return (error instanceof Error && error.message) || String(error);
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

/** A closing count: on stdout under a table, on stderr with --json so that stdout carries only the objects. */
function summarize(line: string, json: boolean): void {
  if (json) console.error(line);
  else console.log(line);
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
  summarize(command === 'drop' ? `${succeeded} dropped` : `${succeeded} replayed, ${done.length - succeeded} not replayed`, json);
}

/** The requested ids that matched nothing, each said on stderr as "not found: no <what> with message id <id><where>"; true when any. */
function reportMissingIds(ids: readonly string[], found: Array<{ messageId: string | undefined }>, what: string, where = ''): boolean {
  const missing = ids.filter((id) => !found.some((one) => one.messageId === id));
  for (const id of missing) console.error(`not found: no ${what} with message id ${id}${where}`);
  return missing.length > 0;
}

async function run(connection: AmqpConnection, namespace: string, command: DeadLetterCommand, selection: DeadLetterSelection, json: boolean): Promise<number> {
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
    done = command === 'replay' ? await replayDeadLetters(connection, namespace, selection) : await dropDeadLetters(connection, namespace, selection);
  } catch (error) {
    if (error instanceof DeadLetterOperationError) printDone(command, error.done as DeadLetter[], json);
    throw error;
  }
  printDone(command, done, json);
  const notReplayed = done.some((letter) => 'replayed' in letter && !letter.replayed);
  return reportMissingIds(ids, done, 'dead letter', where) || notReplayed ? 1 : 0;
}

/** list, replay, drop: RabbitMQ only. */
async function onDeadLetters(command: DeadLetterCommand, invocation: Invocation): Promise<number> {
  const config = readConfig(amqpSettings);
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
    return await run(connection, namespace, command, selection, invocation.json);
  } catch (error) {
    if (error instanceof DeadLetterQueueMissingError) {
      console.error(`dlq: ${error.message}`);
    } else {
      const cause = error instanceof DeadLetterOperationError ? error.cause : error;
      console.error(`dlq: ${command} failed: ${describeError(lost ?? cause)}; every message not reported above is still in its DLQ`);
    }
    return 1;
  } finally {
    await connection.close().catch(() => {});
  }
}

function printSetAside(outcomes: OutboxOutcome[]): void {
  for (const outcome of outcomes) {
    if ('trouble' in outcome || outcome.rows.length === 0) continue;
    console.log(`${outcome.database} outbox at ${redacted(outcome.url)} (${outcome.rows.length})`);
    const rows = [['MESSAGE ID', 'SET ASIDE AT', 'TYPE', 'ATTEMPTS', 'ERROR', 'BODY']];
    for (const row of outcome.rows) {
      rows.push([cell(row.messageId, 36), cell(row.setAsideAt, 24), cell(row.type, 30), String(row.attempts), cell(row.error, 70), cell(row.preview, 60)]);
    }
    for (const line of table(rows)) console.log(`  ${line}`);
    console.log('');
  }
}

function describeSetAside(row: SetAsideRow): string {
  return `${row.messageId} in the ${row.database} outbox (${row.type}; ${row.attempts} attempts; ${cell(row.error, 70)})`;
}

/** list-outbox, retry-outbox: the two databases only. */
async function onOutbox(command: OutboxCommand, invocation: Invocation): Promise<number> {
  const { ids, json } = invocation;
  const config = readConfig(outboxDatabaseSettings);
  const retry = command === 'retry-outbox';
  const outcomes = await workOnSetAside(config, ids, retry);
  const found = outcomes.flatMap((outcome) => ('trouble' in outcome ? [] : outcome.rows));
  if (json) for (const row of found) console.log(JSON.stringify(retry ? { action: command, ...row } : row));
  else if (retry) for (const row of found) console.log(`retried ${describeSetAside(row)}`);
  else printSetAside(outcomes);

  const counts: string[] = [];
  const notLookedAt: string[] = [];
  for (const outcome of outcomes) {
    if ('trouble' in outcome) {
      console.error(`dlq: ${command} failed on the ${outcome.database} database at ${redacted(outcome.url)}: ${describeError(outcome.trouble)}`);
      counts.push(`${outcome.database} failed`);
      notLookedAt.push(`the ${outcome.database} database failed`);
      continue;
    }
    counts.push(`${outcome.retried ?? outcome.rows.length} in ${outcome.database}`);
    if (outcome.retried !== undefined && outcome.retried < outcome.rows.length) {
      summarize(`${outcome.rows.length - outcome.retried} of those in ${outcome.database} had been retried meanwhile by someone else`, json);
    }
    if (outcome.more) {
      summarize(`more than ${SET_ASIDE_PER_RUN} rows are set aside in ${outcome.database}; only the oldest ${SET_ASIDE_PER_RUN} were looked at${retry ? ': run retry-outbox again for the rest' : ''}`, json);
      notLookedAt.push(`only the oldest ${SET_ASIDE_PER_RUN} of ${outcome.database} were looked at`);
    }
  }
  const total = outcomes.reduce((sum, outcome) => sum + ('trouble' in outcome ? 0 : (outcome.retried ?? outcome.rows.length)), 0);
  summarize(
    retry
      ? `${total} retried (${counts.join(', ')})${total > 0 ? `; a relay publishes ${total === 1 ? 'it' : 'them'} within its poll interval` : ''}`
      : `${total} outbox row${total === 1 ? '' : 's'} set aside (${counts.join(', ')})`,
    json,
  );
  const missing = reportMissingIds(ids, found, 'set-aside outbox row', notLookedAt.length > 0 ? ` (${notLookedAt.join('; ')})` : '');
  return missing || outcomes.some((outcome) => 'trouble' in outcome) ? 1 : 0;
}

async function main(): Promise<number> {
  try {
    const invocation = parseInvocation(process.argv.slice(2));
    if (invocation === 'help') {
      console.log(USAGE);
      return 0;
    }
    return isOutboxCommand(invocation.command) ? await onOutbox(invocation.command, invocation) : await onDeadLetters(invocation.command, invocation);
  } catch (error) {
    if (error instanceof UsageError) console.error(`dlq: ${error.message}\n\n${USAGE}`);
    else if (error instanceof ConfigError) console.error(`dlq: ${error.message}`);
    else throw error;
    return 2;
  }
}

process.exitCode = await main();
