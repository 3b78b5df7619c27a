import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { findOrder, placeOrder, prepareOrder } from '@gozon/orders';
import { openWallet, topUp } from '@gozon/payments';
import { newTraceparent } from '@gozon/platform';
import { POSTGRES_URL, createFlow, waitFor, type Flow, type LaunchedProcess } from '@gozon/testkit';

// A worker whose connections are cut reports it, reconnects by itself,
// re-declares its topology and goes on: no restart, no lost order.

const reconnect = suite('relays and workers reconnect by themselves');

let flow: Flow;
let relay: LaunchedProcess;
let worker: LaunchedProcess;

async function payOneOrder(label: string) {
  const placed = await placeOrder(
    flow.orders.db,
    prepareOrder({ userId: 'steady', amount: 100n, description: label, traceparent: newTraceparent() }),
  );
  const done = await waitFor(`order "${label}" paid`, async () => {
    const order = await findOrder(flow.orders.db, placed.id);
    return order?.status === 'FINISHED' ? order : undefined;
  });
  assert.is(done.status, 'FINISHED');
}

reconnect.before(async () => {
  flow = await createFlow('reconnect');
  [relay, worker] = await Promise.all([flow.startOrdersRelay(), flow.startPaymentsWorker()]);
  const { wallet } = await openWallet(flow.payments.db, 'steady');
  await flow.payments.db.transaction().execute((trx) => topUp(trx, wallet.id, 1_000_000n));
  await payOneOrder('before anything breaks');
});

reconnect.after(async () => {
  const codes = await flow.close();
  assert.ok(
    codes.every((code) => code === 0),
    `clean exit after reconnecting, got ${codes.join(',')}`,
  );
});

reconnect('after their PostgreSQL connections are terminated', async () => {
  const connectedBefore = relay.events('worker.connected').length + worker.events('worker.connected').length;
  const admin = new pg.Client({ connectionString: `${POSTGRES_URL}/postgres` });
  await admin.connect();
  const { rows } = await admin.query(
    'select pg_terminate_backend(pid) from pg_stat_activity where datname = any($1) and pid <> pg_backend_pid()',
    [[flow.orders.name, flow.payments.name]],
  );
  await admin.end();
  assert.ok(rows.length >= 2, 'the services had connections to terminate');

  await waitFor(
    'both to reconnect',
    async () =>
      relay.events('worker.connected').length + worker.events('worker.connected').length >= connectedBefore + 2,
  );
  await payOneOrder('after PostgreSQL cut them off');
  assert.ok(relay.running() && worker.running(), 'no restart');
});

reconnect('after RabbitMQ closes their connections', async () => {
  const listing = execFileSync(
    'rabbitmqctl',
    ['list_connections', 'pid', 'client_properties', '-q', '--no-table-headers'],
    { encoding: 'utf8' },
  );
  const ours = listing
    .split('\n')
    .filter((line) => line.includes(`{"connection_name","${flow.broker.namespace}`))
    .map((line) => line.split('\t')[0]!);
  assert.is(ours.length, 2, 'one connection per process');
  const lostBefore = relay.events('worker.connection_lost').length + worker.events('worker.connection_lost').length;
  for (const pid of ours) execFileSync('rabbitmqctl', ['close_connection', pid, 'test: cut']);

  await waitFor(
    'both to notice',
    async () =>
      relay.events('worker.connection_lost').length + worker.events('worker.connection_lost').length >= lostBefore + 2,
  );
  await payOneOrder('after RabbitMQ cut them off');
  assert.ok(relay.running() && worker.running(), 'no restart');
});

reconnect.run();
