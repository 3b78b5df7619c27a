// `npm run stack`: the whole system natively on this machine, the same mains the
// containers run. Creates and migrates the databases, starts every deployable
// (relays and workers × STACK_REPLICAS), nginx on :8080 with the gateway
// template, waits until all are ready, and stops everything on Ctrl-C.
//
// This file is the order of the start and the way it stops; what runs is in
// processes.ts, its settings in settings.ts, how processes are kept running in
// supervisor.ts, and nginx's config in nginx.ts.
import { resolve } from 'node:path';
import { BROKER_USERS, brokerPasswordSettings } from '@gozon/messaging';
import { ORDERS_ROLES } from '@gozon/orders';
import { PAYMENTS_ROLES } from '@gozon/payments';
import { readConfig, type DatabaseRoles } from '@gozon/platform';
import { requireNginx, writeNginxConfig } from './nginx.ts';
import { setupProcesses, serviceProcesses } from './processes.ts';
import { requireFreePorts, waitUntilReady } from './readiness.ts';
import { settings } from './settings.ts';
import { Supervisor, exitCode } from './supervisor.ts';

const ROOT = resolve(import.meta.dirname, '../..');

const config = readConfig(settings);

const serviceRoles = (roles: DatabaseRoles) =>
  roles.services
    .filter((s) => s.service !== 'dlq')
    .map((s) => s.role)
    .join(', ');

function say(line: string) {
  process.stdout.write(`[stack] ${line}\n`);
}

const supervisor = new Supervisor({ cwd: ROOT, stackDir: config.STACK_DIR, say });

// The children are not in this runner's process group, so nothing else ends them: whatever
// way the runner exits (a crash included), the ones still running go with it.
process.on('exit', () => supervisor.killAll());

async function run() {
  requireNginx();
  const options = {
    replicas: config.STACK_REPLICAS,
    apiReplicas: config.STACK_API_REPLICAS,
    ordersDatabaseUrl: config.ORDERS_DATABASE_URL,
    ordersApiDatabaseUrl: config.ORDERS_API_DATABASE_URL || undefined,
    paymentsDatabaseUrl: config.PAYMENTS_DATABASE_URL,
    amqpUrl: config.AMQP_URL,
    amqpNamespace: config.AMQP_NAMESPACE,
    brokerPasswords: readConfig(brokerPasswordSettings),
    ordersApiPort: config.ORDERS_API_PORT,
    paymentsApiPort: config.PAYMENTS_API_PORT,
    healthPortBase: config.HEALTH_PORT_BASE,
    logLevel: config.LOG_LEVEL,
  };

  for (const step of setupProcesses(options)) {
    const code = await exitCode(supervisor.start(step, true));
    if (code !== 0) throw new Error(`${step.name} failed with code ${code}`);
  }

  const services = serviceProcesses(options);
  await requireFreePorts([config.GATEWAY_PORT, config.UI_PORT, ...services.map((s) => s.healthPort!)]);
  const uiBuild = supervisor.start(
    { name: 'ui-build', command: ['npm', 'run', '--silent', 'build', '-w', '@gozon/ui'], env: {} },
    true,
  );
  const children = services.map((spec) => ({ spec, child: supervisor.start(spec) }));
  await Promise.all(
    children.map(({ spec, child }) =>
      waitUntilReady(spec.name, `http://127.0.0.1:${spec.healthPort}/health/ready`, child),
    ),
  );

  const uiBuilt = await exitCode(uiBuild);
  if (uiBuilt !== 0) throw new Error(`building the UI failed with code ${uiBuilt}`);

  const gateway = supervisor.start({ name: 'gateway', command: writeNginxConfig(config), env: {} });
  await waitUntilReady('gateway', `http://127.0.0.1:${config.GATEWAY_PORT}/health`, gateway);

  const rows = [
    ['shop UI', `http://localhost:${config.UI_PORT}`],
    ['gateway (the API)', `http://127.0.0.1:${config.GATEWAY_PORT}  — /orders/…, /payments/…`],
    ...(config.GATEWAY_ACCESS_LOG === 'off' ? [] : [['gateway access log', resolve(config.GATEWAY_ACCESS_LOG)]]),
    ...services.map((s) => {
      const base = `http://127.0.0.1:${s.healthPort}`;
      return [s.name, `${base}/health/ready  ${base}/metrics`];
    }),
    ['orders database', `${config.ORDERS_DATABASE_URL} (services log in as ${serviceRoles(ORDERS_ROLES)})`],
    ...(config.ORDERS_API_DATABASE_URL ? [['orders-api database', config.ORDERS_API_DATABASE_URL]] : []),
    ['payments database', `${config.PAYMENTS_DATABASE_URL} (services log in as ${serviceRoles(PAYMENTS_ROLES)})`],
    [
      'RabbitMQ',
      `${config.AMQP_URL.replace(/\/\/[^@]*@/, '//')} (namespace "${config.AMQP_NAMESPACE}"; users ${Object.values(BROKER_USERS).join(', ')})`,
    ],
  ];
  for (const [name, where] of rows) say(`${name!.padEnd(20)} ${where}`);
  say(`ready: ${supervisor.size} processes; Ctrl-C stops them all`);
}

let shuttingDown: Promise<void> | undefined;
const shutdown = (signal: string) => {
  shuttingDown ??= (async () => {
    say(`${signal}: stopping`);
    const code = await supervisor.stopAll();
    say(code === 0 ? 'stopped cleanly' : 'stopped, some processes exited non-zero');
    process.exit(code);
  })();
};
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
// A closed terminal hangs up its session; the children, in sessions of their own, never hear it.
process.on('SIGHUP', () => shutdown('SIGHUP'));
// Whoever started the runner (npm, a test) may die without a word to it (SIGKILL): reparented,
// the runner stops everything rather than hold the ports and the broker's connections for ever.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) shutdown('parent gone');
}, 1000).unref();

run().catch(async (error) => {
  // A start cut short by a signal: the shutdown already under way says how it ended.
  if (shuttingDown) return;
  say(`failed to start: ${(error as Error).message}`);
  await supervisor.stopAll();
  process.exit(1);
});
