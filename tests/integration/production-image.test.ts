import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ordersMigrations } from '@gozon/orders';
import { paymentsMigrations } from '@gozon/payments';
import {
  AMQP_URL,
  HEALTH_PORT_VARIABLES,
  REPO_ROOT,
  appDir,
  buildDockerfile,
  createTestBroker,
  createTestDatabase,
  launch,
  type BuiltStage,
  type TestBroker,
  type TestDatabase,
} from '@gozon/testkit';

// The root Dockerfile's own steps, carried out outside Docker for each Node
// deployable, must give an app that starts against the local services with
// production dependencies only, and stops cleanly on SIGTERM.

const image = suite('the production image of each Node deployable');

const work = mkdtempSync(join(tmpdir(), 'gozon-image-'));
const nodeBin = dirname(process.execPath);
let orders: TestDatabase<unknown>;
let payments: TestDatabase<unknown>;
let broker: TestBroker;

/** Runs a command of the image with its environment only, as a container does; a deployable resolves once ready. */
function runCmd(
  final: BuiltStage,
  command: string[],
  env: Record<string, string>,
  service?: keyof typeof HEALTH_PORT_VARIABLES,
) {
  return launch({
    name: service ?? command.join(' '),
    command,
    cwd: appDir(final),
    env: { PATH: `${nodeBin}:/usr/bin:/bin`, HOME: work, ...final.env, ...env },
    inheritEnv: false,
    ...(service ? { healthPortVariable: HEALTH_PORT_VARIABLES[service] } : {}),
  });
}

image.before(async () => {
  orders = await createTestDatabase('image_orders', ordersMigrations);
  payments = await createTestDatabase('image_payments', paymentsMigrations);
  broker = await createTestBroker('image');
});

image.after(async () => {
  await broker.close();
  await orders.drop();
  await payments.drop();
  rmSync(work, { recursive: true, force: true });
});

const DEPLOYABLES = [
  { service: 'orders-api', env: () => ({ DATABASE_URL: orders.url }) },
  { service: 'payments-api', env: () => ({ DATABASE_URL: payments.url }) },
  { service: 'orders-relay', env: () => ({ DATABASE_URL: orders.url, AMQP_URL, AMQP_NAMESPACE: broker.namespace }) },
  {
    service: 'payments-worker',
    env: () => ({ DATABASE_URL: payments.url, AMQP_URL, AMQP_NAMESPACE: broker.namespace }),
  },
] as const;

for (const { service, env } of DEPLOYABLES) {
  image(
    `${service}: built by the Dockerfile's steps, it starts on production dependencies and stops on SIGTERM`,
    async () => {
      const stages = buildDockerfile({
        dockerfile: join(REPO_ROOT, 'Dockerfile'),
        context: REPO_ROOT,
        into: join(work, service),
        args: { SERVICE: service },
        env: { ...process.env, PATH: `${nodeBin}:${process.env.PATH}` },
        log: () => {},
      });
      const final = stages.at(-1)!;
      assert.is(final.env.NODE_ENV, 'production');
      assert.is(final.user, 'node', 'runs as the non-root user');
      assert.match(final.base, /^node:24-/, 'the same Node major as the native runtime');
      assert.is(process.versions.node.split('.')[0], '24');
      const app = appDir(final);
      assert.ok(existsSync(join(app, service, 'src/main.ts')), 'the entry point is in the image');
      for (const devOnly of ['typescript', 'uvu', 'yaml', 'playwright-core', 'node']) {
        assert.not.ok(existsSync(join(app, 'node_modules', devOnly)), `${devOnly} is a devDependency and stays out`);
      }
      assert.not.ok(existsSync(join(app, 'packages/dlq')), "the DLQ tool is an operator's and stays out");

      const running = await runCmd(final, final.cmd!, env(), service);
      assert.is(await running.stop(), 0, running.output());
    },
  );
}

image('the orders image also runs the orders migration, as compose does', async () => {
  const final = buildDockerfile({
    dockerfile: join(REPO_ROOT, 'Dockerfile'),
    context: REPO_ROOT,
    into: join(work, 'migrate'),
    args: { SERVICE: 'orders-api' },
    env: { ...process.env, PATH: `${nodeBin}:${process.env.PATH}` },
    log: () => {},
  }).at(-1)!;
  const migrate = await runCmd(final, ['node', 'packages/orders/bin/migrate.ts'], { DATABASE_URL: orders.url });
  assert.is(await migrate.exited, 0, migrate.output());
  assert.match(migrate.output(), /"event":"migrate.done"/);
});

image.run();
