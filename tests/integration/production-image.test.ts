import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ordersMigrations } from '@gozon/orders';
import { paymentsMigrations } from '@gozon/payments';
import { AMQP_URL, REPO_ROOT, appDir, buildDockerfile, createTestBroker, createTestDatabase, type BuiltStage, type TestBroker, type TestDatabase } from '@gozon/testkit';

// The root Dockerfile's own steps, carried out outside Docker for each Node
// deployable, must give an app that starts against the local services with
// production dependencies only, and stops cleanly on SIGTERM.

const image = suite('the production image of each Node deployable');

const work = mkdtempSync(join(tmpdir(), 'gozon-image-'));
const nodeBin = dirname(process.execPath);
let orders: TestDatabase<unknown>;
let payments: TestDatabase<unknown>;
let broker: TestBroker;

function runCmd(final: BuiltStage, command: string[], env: Record<string, string>, readyEvent: string | null) {
  const child = spawn(command[0]!, command.slice(1), {
    cwd: appDir(final),
    env: { PATH: `${nodeBin}:/usr/bin:/bin`, HOME: work, ...final.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | string>((done) => child.on('exit', (code, signal) => done(code ?? signal ?? 'unknown')));
  const ready = new Promise<void>((done, fail) => {
    if (readyEvent === null) return done();
    const timer = setTimeout(() => fail(new Error(`not ready:\n${output}`)), 20_000);
    child.stdout.on('data', () => output.includes(`"event":"${readyEvent}"`) && (clearTimeout(timer), done()));
    void exited.then((code) => (clearTimeout(timer), fail(new Error(`exited ${code}:\n${output}`))));
  });
  return { child, exited, ready, output: () => output };
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
  { service: 'orders-api', env: () => ({ DATABASE_URL: orders.url, PORT: '0' }), ready: 'api.started' },
  { service: 'payments-api', env: () => ({ DATABASE_URL: payments.url, PORT: '0' }), ready: 'api.started' },
  { service: 'orders-relay', env: () => ({ DATABASE_URL: orders.url, AMQP_URL, AMQP_NAMESPACE: broker.namespace, HEALTH_PORT: '0' }), ready: 'worker.started' },
  { service: 'payments-worker', env: () => ({ DATABASE_URL: payments.url, AMQP_URL, AMQP_NAMESPACE: broker.namespace, HEALTH_PORT: '0' }), ready: 'worker.started' },
];

for (const { service, env, ready } of DEPLOYABLES) {
  image(`${service}: built by the Dockerfile's steps, it starts on production dependencies and stops on SIGTERM`, async () => {
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
    assert.not.ok(existsSync(join(app, 'packages/dlq')), 'the DLQ tool is an operator\'s and stays out');

    const running = runCmd(final, final.cmd!, env(), ready);
    await running.ready;
    running.child.kill('SIGTERM');
    assert.is(await running.exited, 0, running.output());
  });
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
  const migrate = runCmd(final, ['node', 'packages/orders/bin/migrate.ts'], { DATABASE_URL: orders.url }, null);
  assert.is(await migrate.exited, 0, migrate.output());
  assert.match(migrate.output(), /"event":"migrate.done"/);
});

image.run();
