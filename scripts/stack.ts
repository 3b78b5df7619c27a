// `npm run stack`: the whole system natively on this machine, the same mains the
// containers run. Creates and migrates the databases, starts every deployable
// (relays and workers × STACK_REPLICAS), nginx on :8080 with the gateway
// template, waits until all are ready, and stops everything on Ctrl-C.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { integer, readConfig, text, url } from '@gozon/platform';
import { migrationProcesses, serviceProcesses, type ProcessSpec } from './lib/stack-definition.ts';
import { GATEWAY_TEMPLATE, UI_TEMPLATE, nativeNginxConf, renderTemplateFile } from './lib/gateway.ts';

const ROOT = resolve(import.meta.dirname, '..');
const NGINX = '/usr/sbin/nginx';

const config = readConfig({
  STACK_REPLICAS: integer(2, 'replicas of orders-relay and of payments-worker', { min: 1, max: 16 }),
  STACK_DIR: text(join(ROOT, '.stack'), 'folder for the rendered nginx config and its temp files'),
  ORDERS_DATABASE_URL: url('postgres://postgres@127.0.0.1:5432/gozon_orders', 'orders database (created if missing)', ['postgres:', 'postgresql:']),
  // Empty: ORDERS_DATABASE_URL. The fault suite sets it to a fault proxy in front of PostgreSQL.
  ORDERS_API_DATABASE_URL: text('', 'how orders-api alone reaches the orders database, when not by ORDERS_DATABASE_URL'),
  PAYMENTS_DATABASE_URL: url('postgres://postgres@127.0.0.1:5432/gozon_payments', 'payments database (created if missing)', ['postgres:', 'postgresql:']),
  AMQP_URL: url('amqp://guest:guest@127.0.0.1:5672', 'RabbitMQ', ['amqp:', 'amqps:']),
  AMQP_NAMESPACE: text('', 'prefix of exchange and queue names'),
  GATEWAY_PORT: integer(8080, 'gateway port', { min: 1, max: 65535 }),
  UI_PORT: integer(3000, 'port of the shop UI', { min: 1, max: 65535 }),
  ORDERS_API_PORT: integer(3001, 'orders-api port', { min: 1, max: 65535 }),
  PAYMENTS_API_PORT: integer(3002, 'payments-api port', { min: 1, max: 65535 }),
  HEALTH_PORT_BASE: integer(9100, 'relays get health ports base+1…, workers base+101…', { min: 1, max: 65000 }),
  CORS_ORIGIN: text('http://localhost:3000', 'the UI origin the gateway lets call it'),
  LOG_LEVEL: text('info', 'log level of every service'),
});

const running = new Map<string, ChildProcess>();
let stopping = false;

function say(line: string) {
  process.stdout.write(`[stack] ${line}\n`);
}

/** Where the pids of the running processes are, for whoever wants to signal one (the fault suite does). */
function writePids() {
  mkdirSync(config.STACK_DIR, { recursive: true });
  writeFileSync(join(config.STACK_DIR, 'pids.json'), JSON.stringify(Object.fromEntries([...running].map(([name, child]) => [name, child.pid]))));
}

const RESTART_DELAY_MS = 500;

/**
 * Starts a process; a long-running one that dies is started again after a
 * moment, as an orchestrator's restart policy would (compose: unless-stopped).
 * Each child is the leader of its own process group (detached): a terminal's
 * Ctrl-C signals the foreground group, so it reaches this runner alone, which
 * then stops each child with one SIGTERM. A child that got the terminal's
 * SIGINT too would take that SIGTERM as a second signal and force its exit.
 */
function start(spec: ProcessSpec, oneShot = false): ChildProcess {
  // A process started once the stop has begun would outlive it.
  if (stopping) throw new Error(`${spec.name} not started: the stack is stopping`);
  const child = spawn(spec.command[0]!, spec.command.slice(1), {
    cwd: ROOT,
    env: { ...process.env, ...spec.env },
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true,
  });
  running.set(spec.name, child);
  if (!oneShot) writePids();
  child.on('exit', (code, signal) => {
    if (running.get(spec.name) === child) running.delete(spec.name);
    if (stopping || oneShot) return;
    say(`${spec.name} exited unexpectedly (code ${code}, signal ${signal}); restarting it`);
    setTimeout(() => {
      if (!stopping) start(spec);
    }, RESTART_DELAY_MS);
  });
  return child;
}

/** The exit code, or 1 for a process ended by a signal — except, when asked, by our own SIGTERM. */
function exitCode(child: ChildProcess, sigtermIsClean = false): Promise<number> {
  const settle = (code: number | null, signal: NodeJS.Signals | null) => (code ?? (sigtermIsClean && signal === 'SIGTERM' ? 0 : 1));
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done(settle(child.exitCode, child.signalCode));
    child.on('exit', (code, signal) => done(settle(code, signal)));
  });
}

async function waitUntilReady(name: string, readyUrl: string, child: ChildProcess, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode} before it was ready`);
    try {
      const response = await fetch(readyUrl);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${name} was not ready at ${readyUrl} within ${timeoutMs} ms`);
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const probe = createServer();
    probe.once('error', () => done(false));
    probe.listen(port, '0.0.0.0', () => probe.close(() => done(true)));
  });
}

/** Another stack still running would answer our readiness checks: refuse to start instead. */
async function requireFreePorts(ports: number[]) {
  const taken = [];
  for (const port of ports) if (!(await portIsFree(port))) taken.push(port);
  if (taken.length > 0) throw new Error(`port(s) ${taken.join(', ')} already in use (is another stack running?)`);
}

/** What the gateway image holds under DOCS_ROOT: the spec, the docs page, and Swagger UI from node_modules. */
function prepareDocs(docs: string): string {
  rmSync(docs, { recursive: true, force: true });
  mkdirSync(docs, { recursive: true });
  // nginx's workers run as an unprivileged user and must be able to walk down to the files.
  chmodSync(config.STACK_DIR, 0o755);
  copyFileSync(join(ROOT, 'full-openapi.yaml'), join(docs, 'openapi.yaml'));
  copyFileSync(join(ROOT, 'gateway/docs.html'), join(docs, 'index.html'));
  symlinkSync(join(ROOT, 'node_modules/swagger-ui-dist'), join(docs, 'swagger-ui'));
  return docs;
}

/** Signals a child's whole process group (npm's and nginx's own children too); it may be gone already. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals) {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already exited
  }
}

// Longer than a service's own shutdown deadline (SHUTDOWN_TIMEOUT_MS, 15 s), so only a process
// that ignored it is killed.
const STOP_DEADLINE_MS = 30_000;

async function stopAll(): Promise<number> {
  stopping = true;
  const children = [...running.entries()];
  for (const [, child] of children) signalGroup(child, 'SIGTERM');
  const codes = await Promise.all(
    children.map(async ([name, child]) => {
      const deadline = setTimeout(() => {
        say(`${name} still running ${STOP_DEADLINE_MS} ms after SIGTERM: killed`);
        signalGroup(child, 'SIGKILL');
      }, STOP_DEADLINE_MS);
      // A process still loading its modules has no handler yet and dies of the SIGTERM itself;
      // it had no work in hand, so that is a clean stop too (seen when a restart met Ctrl-C).
      const code = await exitCode(child, true);
      clearTimeout(deadline);
      if (code !== 0) say(`${name} stopped with code ${code}`);
      return code;
    }),
  );
  return codes.every((code) => code === 0) ? 0 : 1;
}

// The children are not in this runner's process group, so nothing else ends them: whatever
// way the runner exits (a crash included), the ones still running go with it.
process.on('exit', () => {
  for (const child of running.values()) signalGroup(child, 'SIGKILL');
});

async function run() {
  if (!existsSync(NGINX)) throw new Error(`nginx is missing: apt-get update && apt-get install -y nginx`);
  const options = {
    replicas: config.STACK_REPLICAS,
    ordersDatabaseUrl: config.ORDERS_DATABASE_URL,
    ordersApiDatabaseUrl: config.ORDERS_API_DATABASE_URL || undefined,
    paymentsDatabaseUrl: config.PAYMENTS_DATABASE_URL,
    amqpUrl: config.AMQP_URL,
    amqpNamespace: config.AMQP_NAMESPACE,
    ordersApiPort: config.ORDERS_API_PORT,
    paymentsApiPort: config.PAYMENTS_API_PORT,
    healthPortBase: config.HEALTH_PORT_BASE,
    logLevel: config.LOG_LEVEL,
  };

  for (const migration of migrationProcesses(options)) {
    const code = await exitCode(start(migration, true));
    if (code !== 0) throw new Error(`${migration.name} failed with code ${code}`);
  }

  const services = serviceProcesses(options);
  await requireFreePorts([config.GATEWAY_PORT, config.UI_PORT, ...services.map((s) => s.healthPort!)]);
  const uiBuild = start({ name: 'ui-build', command: ['npm', 'run', '--silent', 'build', '-w', '@gozon/ui'], env: {} }, true);
  const children = services.map((spec) => ({ spec, child: start(spec) }));
  await Promise.all(
    children.map(({ spec, child }) => waitUntilReady(spec.name, `http://127.0.0.1:${spec.healthPort}/health/ready`, child)),
  );

  const uiBuilt = await exitCode(uiBuild);
  if (uiBuilt !== 0) throw new Error(`building the UI failed with code ${uiBuilt}`);

  const dir = join(config.STACK_DIR, 'nginx');
  mkdirSync(dir, { recursive: true });
  const gatewayConf = join(dir, 'gateway.conf');
  const uiConf = join(dir, 'ui.conf');
  writeFileSync(
    uiConf,
    renderTemplateFile(UI_TEMPLATE, {
      UI_PORT: String(config.UI_PORT),
      UI_ROOT: join(ROOT, 'ui/dist'),
      API_BASE_URL: `http://localhost:${config.GATEWAY_PORT}`,
    }),
  );
  writeFileSync(
    gatewayConf,
    renderTemplateFile(GATEWAY_TEMPLATE, {
      GATEWAY_PORT: String(config.GATEWAY_PORT),
      ORDERS_API_ADDR: `127.0.0.1:${config.ORDERS_API_PORT}`,
      PAYMENTS_API_ADDR: `127.0.0.1:${config.PAYMENTS_API_PORT}`,
      UPSTREAM_SERVER_FLAGS: '',
      DNS_RESOLVER: '127.0.0.1',
      CORS_ORIGIN: config.CORS_ORIGIN,
      GATEWAY_ACCESS_LOG: 'off',
      DOCS_ROOT: prepareDocs(join(config.STACK_DIR, 'docs')),
    }),
  );
  const nginxConf = join(dir, 'nginx.conf');
  writeFileSync(nginxConf, nativeNginxConf(dir, [gatewayConf, uiConf]));
  const check = spawnSync(NGINX, ['-t', '-q', '-p', dir, '-e', 'stderr', '-c', nginxConf], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`nginx rejected the gateway config:\n${check.stderr}`);
  const gateway = start({ name: 'gateway', command: [NGINX, '-p', dir, '-e', 'stderr', '-c', nginxConf, '-g', 'daemon off;'], env: {} });
  await waitUntilReady('gateway', `http://127.0.0.1:${config.GATEWAY_PORT}/health`, gateway);

  const rows = [
    ['shop UI', `http://localhost:${config.UI_PORT}`],
    ['gateway (the API)', `http://127.0.0.1:${config.GATEWAY_PORT}  — /orders/…, /payments/…`],
    ['orders-api', `http://127.0.0.1:${config.ORDERS_API_PORT}/health/ready`],
    ['payments-api', `http://127.0.0.1:${config.PAYMENTS_API_PORT}/health/ready`],
    ...services
      .filter((s) => /relay|worker/.test(s.name))
      .map((s) => [s.name, `http://127.0.0.1:${s.healthPort}/health/ready`]),
    ['orders database', config.ORDERS_DATABASE_URL],
    ...(config.ORDERS_API_DATABASE_URL ? [['orders-api database', config.ORDERS_API_DATABASE_URL]] : []),
    ['payments database', config.PAYMENTS_DATABASE_URL],
    ['RabbitMQ', `${config.AMQP_URL.replace(/\/\/[^@]*@/, '//')} (namespace "${config.AMQP_NAMESPACE}")`],
  ];
  for (const [name, where] of rows) say(`${name!.padEnd(20)} ${where}`);
  say(`ready: ${running.size} processes; Ctrl-C stops them all`);
}

let shuttingDown: Promise<void> | undefined;
const shutdown = (signal: string) => {
  shuttingDown ??= (async () => {
    say(`${signal}: stopping`);
    const code = await stopAll();
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
  await stopAll();
  process.exit(1);
});
