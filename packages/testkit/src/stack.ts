import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import pg from 'pg';
import { deleteTopology } from '@gozon/messaging';
import { AMQP_URL } from './broker.ts';
import { POSTGRES_URL, uniqueSuffix } from './databases.ts';
import { GATEWAY } from './gateway-client.ts';
// The runner's own list, so that a new budget is lifted too.
import { GATEWAY_BUDGETS } from '../../../scripts/stack/nginx.ts';
import { launch } from './processes.ts';
import { waitFor } from './wait.ts';

// Past the runner's own deadline for its processes (30 s after SIGTERM): only a runner that ignored it is killed.
const STACK_STOP_GRACE_MS = 45_000;

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
  /** Has the gateway write its JSON access log into the stack's folder, for gatewayRequests(). Off by default. */
  accessLog?: boolean;
  /**
   * The gateway's budgets per client address: 'lifted' (the default) puts them past anything a test
   * sends from this machine's one address; 'defaults' keeps `npm run stack`'s, as a person gets them.
   */
  gatewayBudgets?: 'lifted' | 'defaults';
}

/** Budgets no test reaches: requests a second or at once, and requests in flight (nginx takes at most 65,535). */
export const LIFTED_BUDGETS: Record<string, string> = Object.fromEntries(
  GATEWAY_BUDGETS.map((name) => [name, name === 'GATEWAY_CONNECTIONS_PER_CLIENT' ? '65535' : '1000000']),
);

/** A line of the gateway's JSON access log (gateway_json in gateway/default.conf.template). */
export interface GatewayRequestLine {
  method: string;
  path: string;
  status: number;
  /** The replica (host:port) that answered; several, comma-separated, when nginx tried more than one. */
  upstream: string;
  request_id: string;
}

/** Whether something answers at the gateway's address already (another stack), which would pass for ours. */
async function gatewayAnswers(): Promise<boolean> {
  try {
    await fetch(`${GATEWAY}/health`, { signal: AbortSignal.timeout(2000) });
    return true;
  } catch {
    return false;
  }
}

/**
 * `npm run stack` as a person runs it, on databases and queues of the test's
 * own, resolved once its gateway answers /health (the runner starts the gateway
 * last, once every service is ready). stop() sends SIGTERM, as an orchestrator
 * does; interrupt() sends SIGINT to the runner's process group, as Ctrl-C in a
 * terminal does. Both resolve with its exit code (or the signal that ended it).
 */
export async function startStack(label: string, env: Record<string, string> = {}, options: StackStartOptions = {}) {
  const { timeoutMs = 60_000, processGroup = false } = options;
  if (await gatewayAnswers()) throw new Error(`something answers at ${GATEWAY} already (is another stack running?)`);
  const suffix = uniqueSuffix();
  const databases = [`gozon_test_${label}_orders_${suffix}`, `gozon_test_${label}_payments_${suffix}`];
  const namespace = `test.${label}.${suffix}.`;
  const dir = mkdtempSync(join(tmpdir(), `gozon-${label}-`));
  const accessLog = join(dir, 'gateway-access.log');

  const cleanUp = async () => {
    const admin = new pg.Client({ connectionString: `${POSTGRES_URL}/postgres` });
    await admin.connect();
    for (const name of databases)
      await admin.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
    await admin.end();
    const connection = await amqp.connect(AMQP_URL);
    const channel = await connection.createChannel();
    await deleteTopology(channel, namespace);
    await connection.close();
  };

  const runner = await launch({
    name: 'stack',
    command: [process.execPath, 'scripts/stack/main.ts'],
    env: {
      ORDERS_DATABASE_URL: `${POSTGRES_URL}/${databases[0]}`,
      PAYMENTS_DATABASE_URL: `${POSTGRES_URL}/${databases[1]}`,
      AMQP_URL,
      AMQP_NAMESPACE: namespace,
      STACK_DIR: dir,
      LOG_LEVEL: 'warn',
      ...(options.ordersApiDatabaseUrl ? { ORDERS_API_DATABASE_URL: options.ordersApiDatabaseUrl(databases[0]!) } : {}),
      ...(options.accessLog ? { GATEWAY_ACCESS_LOG: accessLog } : {}),
      ...(options.gatewayBudgets === 'defaults' ? {} : LIFTED_BUDGETS),
      ...env,
    },
    readyUrl: `${GATEWAY}/health`,
    timeoutMs,
    stopGraceMs: STACK_STOP_GRACE_MS,
    ownProcessGroup: processGroup,
  }).catch(async (error: unknown) => {
    await cleanUp();
    throw error;
  });

  const stopWith = async (signal: () => Promise<number | string>) => {
    const code = await signal();
    await cleanUp();
    return code;
  };

  return {
    namespace,
    databases,
    dir,
    output: runner.output,
    events: runner.events,
    /** The requests the gateway has logged so far, oldest first (none unless started with accessLog). */
    gatewayRequests: (): GatewayRequestLine[] =>
      existsSync(accessLog)
        ? readFileSync(accessLog, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((line) => JSON.parse(line) as GatewayRequestLine)
        : [],
    /** Every /metrics address the runner printed (once it said it is ready): each API replica's and each worker's. */
    metricsUrls: async (): Promise<string[]> => {
      await waitFor('the runner to print its addresses', async () => runner.output().includes('[stack] ready:'));
      return [...runner.output().matchAll(/http:\/\/127\.0\.0\.1:\d+\/metrics/g)].map((m) => m[0]);
    },
    stop: () => stopWith(runner.stop),
    interrupt: () =>
      stopWith(async () => {
        runner.signal('SIGINT');
        return runner.exited;
      }),
  };
}

export type Stack = Awaited<ReturnType<typeof startStack>>;
