// `docker compose up --build`, the one command users are told to run, run for
// real on a Docker engine (installed and started if there is none), with the
// repository's compose file and Dockerfiles unchanged: only the published ports
// move (GATEWAY_HOST_PORT and the others), and a project name of its own keeps it apart. Through
// the published gateway: the shop's whole scenario; then the workers scaled,
// orders across them and the money audit; a worker crashing mid-load, brought
// back by its restart policy; RabbitMQ and a database stopped and started, the
// services healing by themselves; finally `down -v` leaves nothing behind.
// Base images that no registry serves here are stand-ins (tests/compose/README.md).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  REPO_ROOT,
  auditFailures,
  auditStack,
  createGatewayClient,
  LIFTED_BUDGETS,
  describeClientRequest,
  waitFor,
  waitForQuiet,
  withDb,
  type StackData,
} from '@gozon/testkit';
import { ensureBaseImages } from './base-images.ts';
import { ensureEngine, killRunning, report, run } from './docker.ts';

const PROJECT = 'gozon-compose-test';
// The ports published on this machine, moved out of a native stack's way (8080, 3000, 15672).
const HOST_PORTS = { GATEWAY_HOST_PORT: '28080', UI_HOST_PORT: '23000', RABBITMQ_MANAGEMENT_HOST_PORT: '21567' };
const GATEWAY = `http://127.0.0.1:${HOST_PORTS.GATEWAY_HOST_PORT}`;
const UI = `http://127.0.0.1:${HOST_PORTS.UI_HOST_PORT}`;
const MANAGEMENT = `http://127.0.0.1:${HOST_PORTS.RABBITMQ_MANAGEMENT_HOST_PORT}`;
// Within the test runner's 600 s for the file.
const UP_TIMEOUT_S = 240;
const COMMAND_TIMEOUT_MS = (UP_TIMEOUT_S + 60) * 1000;
const ORDERS = 500;
const USERS = 50;
const IN_FLIGHT = 16;
const QUIET_TIMEOUT_MS = 120_000;
const HEAL_TIMEOUT_MS = 120_000;

const compose = suite('docker compose up --build, on a real Docker engine');
const gateway = createGatewayClient(GATEWAY);
let composeEnv: Record<string, string> = {};

/**
 * `docker compose` on the project under test; rejects unless it ends with 0.
 * `showProgress` prints its output as it comes, for the steps that take a while.
 */
function dockerCompose(args: string[], showProgress = false) {
  return run(
    'docker',
    // .env.example, not a developer's .env: the documented defaults, which the checks below expect.
    ['compose', '-p', PROJECT, '--env-file', '.env.example', '-f', 'docker-compose.yml', ...args],
    { timeoutMs: COMMAND_TIMEOUT_MS, env: composeEnv, cwd: REPO_ROOT, ...(showProgress ? { progress: report } : {}) },
  );
}

async function docker(args: string[]): Promise<string> {
  return (await run('docker', args, { timeoutMs: 60_000 })).stdout.trim();
}

/** The ids of a service's containers, running or not. */
async function containersOf(service: string): Promise<string[]> {
  const ids = await run(
    'docker',
    [
      'ps',
      '-aq',
      '--filter',
      `label=com.docker.compose.project=${PROJECT}`,
      '--filter',
      `label=com.docker.compose.service=${service}`,
    ],
    { timeoutMs: 60_000 },
  );
  return ids.stdout.split('\n').filter(Boolean);
}

/** A container's state: running or not, its health, its restarts, and whether its last healthcheck passed. */
async function stateOf(id: string) {
  const { State, RestartCount } = JSON.parse(await docker(['inspect', '--format', '{{json .}}', id])) as {
    State: { Running: boolean; Health?: { Status: string; Log: Array<{ ExitCode: number }> } };
    RestartCount: number;
  };
  return {
    running: State.Running,
    health: State.Health?.Status,
    lastCheckPassed: State.Health?.Log.at(-1)?.ExitCode === 0,
    restarts: RestartCount,
  };
}

/** The address of a service's (first) container on the project's network: this machine reaches it directly. */
async function addressOf(service: string): Promise<string> {
  const [id] = await containersOf(service);
  return docker(['inspect', '--format', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', id!]);
}

/** The stack's databases and broker as the audit reaches them, at the containers' addresses. */
async function stackData(): Promise<StackData> {
  const [ordersDb, paymentsDb, rabbitmq] = await Promise.all(
    ['orders-db', 'payments-db', 'rabbitmq'].map((service) => addressOf(service)),
  );
  return {
    namespace: '',
    databases: [
      `postgres://postgres:postgres@${ordersDb}:5432/gozon_orders`,
      `postgres://postgres:postgres@${paymentsDb}:5432/gozon_payments`,
    ],
    amqpUrl: `amqp://user:password@${rabbitmq}:5672/gozon`,
  };
}

/** Waits until every container of `service` is running and its healthcheck passed again. */
async function healthy(service: string, timeoutMs = HEAL_TIMEOUT_MS) {
  await waitFor(
    `${service} healthy`,
    async () => {
      const states = await Promise.all((await containersOf(service)).map(stateOf));
      return states.length > 0 && states.every((s) => s.running && s.health === 'healthy' && s.lastCheckPassed);
    },
    timeoutMs,
  );
}

/** Waits until a healthcheck of a container of `service` has failed. */
async function checkFailed(service: string) {
  await waitFor(
    `a healthcheck of ${service} to fail`,
    async () => (await Promise.all((await containersOf(service)).map(stateOf))).some((s) => !s.lastCheckPassed),
    HEAL_TIMEOUT_MS,
  );
}

/** Opens and tops up a wallet for each of `users`. */
async function fundWallets(users: string[], rubles: number) {
  for (const user of users) {
    const wallet = await gateway.openWallet(user);
    assert.is(wallet.status, 201, wallet.text);
    assert.is((await gateway.topUp(wallet.json.bill_id, rubles)).status, 200);
  }
}

/**
 * Places `count` orders for `users` in turn, IN_FLIGHT at a time, each retried
 * under its idempotency key while the answer is a 503; resolves with the ids
 * answered 201, while `during` (if any) runs alongside.
 */
async function placeOrders(users: string[], count: number, during?: () => Promise<void>): Promise<string[]> {
  const accepted: string[] = [];
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      const key = randomUUID();
      const description = describeClientRequest(`compose ${i}`, key);
      const answer = await waitFor(`order ${i} answered`, async () => {
        const sent = await gateway.placeOrder(
          users[i % users.length]!,
          { amount: 1, description },
          { idempotencyKey: key },
        );
        return sent.status === 503 ? undefined : sent;
      });
      assert.is(answer.status, 201, answer.text);
      accepted.push(answer.json.order_id);
    }
  };
  await Promise.all([...Array.from({ length: IN_FLIGHT }, lane), during?.()]);
  return accepted;
}

async function auditAfter(accepted: string[]) {
  const stack = await stackData();
  const open = await waitForQuiet(stack, QUIET_TIMEOUT_MS, report);
  assert.is(open, 0, 'every order settled');
  assert.equal(auditFailures(await auditStack(stack, accepted)), []);
}

compose.before(async () => {
  await ensureEngine();
  const standins = await ensureBaseImages();
  report(`stand-ins for ${standins.join(', ') || 'none'}`);
  // nginx before 1.27.3 (the stand-in's 1.22) has no `resolve` on upstream servers (docker-compose.yml).
  const nginx = await run('docker', ['run', '--rm', '--entrypoint', 'nginx', 'nginx:1.28-alpine', '-v'], {
    timeoutMs: 60_000,
  });
  const [major, minor, patch] = (/nginx\/(\d+)\.(\d+)\.(\d+)/.exec(nginx.stderr)?.slice(1) ?? []).map(Number);
  const resolves = major! > 1 || minor! > 27 || (minor === 27 && patch! >= 3);
  composeEnv = {
    ...HOST_PORTS,
    ...(resolves ? {} : { UPSTREAM_SERVER_FLAGS: '' }),
    // The load comes from this one address: the gateway's budgets lifted, as for the native stack's tests.
    ...LIFTED_BUDGETS,
  };
  await dockerCompose(['down', '-v', '--remove-orphans']);
  const started = Date.now();
  try {
    await dockerCompose(['up', '--build', '--detach', '--wait', '--wait-timeout', String(UP_TIMEOUT_S)], true);
  } catch (error) {
    // What each container said, before after() takes them away.
    const logs = await dockerCompose(['logs', '--no-color', '--tail', '30']).catch((e: unknown) => ({
      stdout: String(e),
    }));
    report(logs.stdout);
    throw error;
  }
  report(`up --build --wait took ${Math.round((Date.now() - started) / 1000)} s`);
  const images = await run('docker', ['images', '--format', '{{.Repository}}:{{.Tag}} {{.Size}}'], {
    timeoutMs: 60_000,
  });
  for (const line of images.stdout.trim().split('\n')) if (line.startsWith(PROJECT)) report(`image ${line}`);
});

// The test runner stops a file that outlives its time with SIGTERM: the project goes down all the same.
process.once('SIGTERM', () => {
  killRunning();
  spawnSync('docker', ['compose', '-p', PROJECT, 'down', '-v', '--remove-orphans', '--rmi', 'local'], {
    cwd: REPO_ROOT,
    timeout: 60_000,
  });
  process.exit(1);
});

compose.after(async () => {
  // Its images go too (the build cache stays): each run's would otherwise pile up as dangling ones.
  await dockerCompose(['down', '-v', '--remove-orphans', '--rmi', 'local']);
});

compose(
  'through the published gateway: a wallet, a top-up, a paid order FINISHED, one without a wallet CANCELLED',
  async () => {
    const user = `compose-alice-${randomUUID().slice(0, 8)}`;
    await fundWallets([user], 100);
    const paid = await gateway.placeOrder(user, { amount: 30, description: 'a lamp' });
    assert.is(paid.status, 201, paid.text);
    const finished = await waitFor('the paid order FINISHED', async () => {
      const status = await gateway.orderStatus(paid.json.order_id);
      return status.json.status === 'NEW' ? undefined : status.json;
    });
    assert.is(finished.status, 'FINISHED');
    const wallet = (await gateway.listOrders(user)).json.orders;
    assert.is(wallet.length, 1);

    const stranger = await gateway.placeOrder(`compose-nobody-${randomUUID().slice(0, 8)}`, {
      amount: 5,
      description: 'a sofa',
    });
    assert.is(stranger.status, 201, stranger.text);
    const cancelled = await waitFor('the order without a wallet CANCELLED', async () => {
      const status = await gateway.orderStatus(stranger.json.order_id);
      return status.json.status === 'NEW' ? undefined : status.json;
    });
    assert.is(cancelled.status, 'CANCELLED');
    assert.is(cancelled.cancel_reason, 'NO_ACCOUNT');
  },
);

compose(
  'CORS preflight, the docs page, the UI and its config.json, RabbitMQ management with user/password',
  async () => {
    // A page of the UI, where it is published, may call the gateway; a page elsewhere may not.
    const uiOrigin = `http://127.0.0.1:${HOST_PORTS.UI_HOST_PORT}`;
    const preflight = await gateway.request('OPTIONS', '/orders/create/compose-carol', {
      headers: { Origin: uiOrigin, 'Access-Control-Request-Method': 'POST' },
    });
    assert.is(preflight.status, 204);
    assert.is(preflight.headers.get('access-control-allow-origin'), uiOrigin);
    const elsewhere = await gateway.request('OPTIONS', '/orders/create/compose-carol', {
      headers: { Origin: 'https://shop.example.com', 'Access-Control-Request-Method': 'POST' },
    });
    assert.is(elsewhere.headers.get('access-control-allow-origin'), null);

    const docs = await gateway.request('GET', '/docs');
    assert.is(docs.status, 200);
    assert.match(docs.headers.get('content-type') ?? '', 'text/html');
    assert.match((await gateway.request('GET', '/openapi.yaml')).text, /^openapi: /m);

    const page = await fetch(`${UI}/`);
    assert.is(page.status, 200);
    assert.match(await page.text(), /<script type="module"/);
    const config = await fetch(`${UI}/config.json`);
    // The page calls the gateway where it is published, on the host the page was opened at.
    assert.equal(await config.json(), { apiBaseUrl: '', gatewayPort: Number(HOST_PORTS.GATEWAY_HOST_PORT) });

    const whoami = await fetch(`${MANAGEMENT}/api/whoami`, {
      headers: { Authorization: `Basic ${Buffer.from('user:password').toString('base64')}` },
    });
    assert.is(whoami.status, 200);
    assert.is(((await whoami.json()) as { name: string }).name, 'user');
  },
);

compose('each service logs in as its own database role and broker user; nothing runs as an administrator', async () => {
  const data = await stackData();
  const logins = async (url: string) =>
    withDb(url, async (client) => {
      const { rows } = await client.query<{ usename: string }>(
        `select distinct usename from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`,
      );
      return rows.map((row) => row.usename).sort();
    });
  assert.equal(await logins(data.databases[0]!), ['gozon_orders_api', 'gozon_orders_relay']);
  assert.equal(await logins(data.databases[1]!), ['gozon_payments_api', 'gozon_payments_worker']);
  const brokerLogins = async () => {
    const connections = await fetch(`${MANAGEMENT}/api/connections`, {
      headers: { Authorization: `Basic ${Buffer.from('user:password').toString('base64')}` },
      signal: AbortSignal.timeout(10_000),
    });
    const users = ((await connections.json()) as Array<{ user: string; vhost: string }>).map(
      (c) => `${c.user}@${c.vhost}`,
    );
    return [...new Set(users)].sort();
  };
  // The management plugin's statistics are event-driven and asynchronous (rabbitmq/rabbitmq-management#101):
  // a connection opened a moment ago may not be listed yet. Wait for both workers, then compare exactly.
  const listed = await waitFor('both workers listed by the management API', async () => {
    const users = await brokerLogins();
    return users.includes('gozon-orders-relay@gozon') && users.includes('gozon-payments-worker@gozon')
      ? users
      : undefined;
  });
  assert.equal(listed, ['gozon-orders-relay@gozon', 'gozon-payments-worker@gozon']);
});

compose(
  `scaled to 3 payments-workers and 2 orders-relays: ${ORDERS} orders across them, the money audit holds`,
  async () => {
    await dockerCompose([
      'up',
      '--detach',
      '--wait',
      '--no-build',
      '--scale',
      'payments-worker=3',
      '--scale',
      'orders-relay=2',
    ]);
    assert.is((await containersOf('payments-worker')).length, 3);
    assert.is((await containersOf('orders-relay')).length, 2);
    const users = Array.from({ length: USERS }, (_, i) => `compose-load-${i}-${randomUUID().slice(0, 8)}`);
    await fundWallets(users, 1000);
    await auditAfter(await placeOrders(users, ORDERS));
  },
);

compose(
  'a payments-worker crashing mid-load (SIGKILL): its restart policy brings it back, and nothing is lost',
  async () => {
    const users = Array.from({ length: USERS }, (_, i) => `compose-kill-${i}-${randomUUID().slice(0, 8)}`);
    await fundWallets(users, 1000);
    const [victim] = await containersOf('payments-worker');
    const before = (await stateOf(victim!)).restarts;
    const accepted = await placeOrders(users, ORDERS, async () => {
      await waitFor('orders under way', async () => (await gateway.listOrders(users[0]!)).json.orders.length > 0);
      // `docker kill` is a manual stop to the engine, whose restart policy then leaves the container
      // alone; a crash is what the policy restarts: its main process killed, as the OOM killer would.
      process.kill(Number(await docker(['inspect', '--format', '{{.State.Pid}}', victim!])), 'SIGKILL');
    });
    await waitFor('the killed worker restarted', async () => (await stateOf(victim!)).restarts > before);
    await healthy('payments-worker');
    await auditAfter(accepted);
  },
);

compose('RabbitMQ and the payments database stopped and started: the services heal by themselves', async () => {
  const users = [`compose-heal-${randomUUID().slice(0, 8)}`];
  await fundWallets(users, 1000);
  for (const [dependency, dependents] of [
    ['rabbitmq', ['orders-relay', 'payments-worker']],
    ['payments-db', ['payments-worker', 'payments-api']],
  ] as const) {
    const restarts = async () =>
      (await Promise.all(dependents.map(async (s) => Promise.all((await containersOf(s)).map(stateOf)))))
        .flat()
        .reduce((sum, state) => sum + state.restarts, 0);
    const restartsBefore = await restarts();
    await dockerCompose(['stop', dependency]);
    for (const service of dependents) await checkFailed(service);
    await dockerCompose(['start', dependency]);
    await healthy(dependency);
    for (const service of dependents) await healthy(service);
    assert.is(await restarts(), restartsBefore, `${dependents.join(' and ')} healed without a restart`);
    await auditAfter(await placeOrders(users, 20));
  }
});

compose('no image of the project carries a password or a .env file: settings come at run time', async () => {
  const images = (await docker(['images', '-q', '--filter', `reference=${PROJECT}-*`])).split('\n').filter(Boolean);
  // Four Node services, two migrations, broker-setup, the gateway and the UI.
  assert.is(images.length, 9);
  for (const image of images) {
    const env = JSON.parse(await docker(['image', 'inspect', '--format', '{{json .Config.Env}}', image])) as string[];
    assert.equal(
      env.filter((entry) => /PASS|SECRET|TOKEN|DATABASE_URL|AMQP_URL/i.test(entry.split('=')[0]!)),
      [],
      `${image}'s environment`,
    );
    const dotEnv = await run(
      'docker',
      ['run', '--rm', '--user', 'root', '--entrypoint', 'find', image, '/', '-xdev', '-name', '.env*'],
      {
        timeoutMs: 60_000,
      },
    );
    assert.is(dotEnv.stdout.trim(), '', `${image} holds no .env`);
  }
});

compose('down -v leaves no container, network or volume of the project', async () => {
  await dockerCompose(['down', '-v', '--remove-orphans']);
  const label = `label=com.docker.compose.project=${PROJECT}`;
  assert.is(await docker(['ps', '-aq', '--filter', label]), '');
  assert.is(await docker(['network', 'ls', '-q', '--filter', label]), '');
  assert.is(await docker(['volume', 'ls', '-q', '--filter', label]), '');
});

compose.run();
