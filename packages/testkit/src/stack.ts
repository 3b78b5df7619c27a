import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import pg from 'pg';
import { deleteTopology } from '@gozon/messaging';
import { AMQP_URL } from './broker.ts';
import { POSTGRES_URL, uniqueSuffix } from './databases.ts';
import { REPO_ROOT } from './processes.ts';

export interface StackStartOptions {
  timeoutMs?: number;
  /**
   * Runs the runner as a terminal runs a foreground job, the leader of its own
   * process group, so that interrupt() can signal the whole group as Ctrl-C does.
   * Off by default: in its own group the runner no longer hears a signal sent
   * to this test's group (a CI timeout's), and would outlive the test.
   */
  processGroup?: boolean;
  /** How orders-api alone reaches the orders database, given its name (the fault suite: through a fault proxy). */
  ordersApiDatabaseUrl?: (database: string) => string;
}

/**
 * `npm run stack` as a person runs it, on databases and queues of the test's
 * own, resolved once it says it is ready. stop() sends SIGTERM, as an
 * orchestrator does; interrupt() sends SIGINT to the runner's process group, as
 * Ctrl-C in a terminal does. Both resolve with its exit code.
 */
export async function startStack(label: string, env: Record<string, string> = {}, options: StackStartOptions = {}) {
  const { timeoutMs = 60_000, processGroup = false } = options;
  const suffix = uniqueSuffix();
  const databases = [`gozon_test_${label}_orders_${suffix}`, `gozon_test_${label}_payments_${suffix}`];
  const namespace = `test.${label}.${suffix}.`;
  const dir = mkdtempSync(join(tmpdir(), `gozon-${label}-`));
  const child = spawn(process.execPath, ['scripts/stack.ts'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      ORDERS_DATABASE_URL: `${POSTGRES_URL}/${databases[0]}`,
      PAYMENTS_DATABASE_URL: `${POSTGRES_URL}/${databases[1]}`,
      AMQP_URL,
      AMQP_NAMESPACE: namespace,
      STACK_DIR: dir,
      LOG_LEVEL: 'warn',
      ...(options.ordersApiDatabaseUrl ? { ORDERS_API_DATABASE_URL: options.ordersApiDatabaseUrl(databases[0]!) } : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: processGroup,
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number>((done) => child.on('exit', (code) => done(code ?? 1)));

  const cleanUp = async () => {
    const admin = new pg.Client({ connectionString: `${POSTGRES_URL}/postgres` });
    await admin.connect();
    for (const name of databases) await admin.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
    await admin.end();
    const connection = await amqp.connect(AMQP_URL);
    const channel = await connection.createChannel();
    await deleteTopology(channel, namespace);
    await connection.close();
  };

  const stopWith = async (signal: () => void): Promise<number> => {
    if (child.exitCode === null && child.signalCode === null) signal();
    const code = await exited;
    await cleanUp();
    return code;
  };

  try {
    await new Promise<void>((ready, fail) => {
      const timer = setTimeout(() => fail(new Error(`stack not ready after ${timeoutMs} ms:\n${output}`)), timeoutMs);
      child.stdout.on('data', () => {
        if (output.includes('[stack] ready')) {
          clearTimeout(timer);
          ready();
        }
      });
      void exited.then((code) => {
        clearTimeout(timer);
        fail(new Error(`stack exited (${code}) before it was ready:\n${output}`));
      });
    });
  } catch (error) {
    child.kill('SIGTERM');
    await exited;
    await cleanUp();
    throw error;
  }

  return {
    namespace,
    databases,
    dir,
    output: () => output,
    stop: () => stopWith(() => child.kill('SIGTERM')),
    interrupt: () => stopWith(() => process.kill(processGroup ? -child.pid! : child.pid!, 'SIGINT')),
  };
}

export type Stack = Awaited<ReturnType<typeof startStack>>;
