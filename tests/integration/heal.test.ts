import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import amqp from 'amqplib';
import { sql } from 'kysely';
import { PAYMENT_REQUESTED } from '@gozon/contracts';
import { findOrder, placeOrder, prepareOrder } from '@gozon/orders';
import { openWallet, topUp } from '@gozon/payments';
import { createLogger, newTraceparent } from '@gozon/platform';
import { AMQP_URL, createFlow, waitFor, type Flow, type LaunchedProcess } from '@gozon/testkit';
import { createApp as createPaymentsApp } from '../../payments-api/src/app.ts';
import { healBroker, psql, rabbitmqctl, runCommand, terminateBackends, undoneAfter } from '../faults/undo.ts';

// Faults from outside the fault suite's first list, as an operator meets them:
// each heals by itself within a bound, or the process exits for a restart;
// no good message is blamed, no order stuck. (issue 11)

const heal = suite('relays and workers heal by themselves');
let flow: Flow;
let worker: LaunchedProcess;

async function payOneOrder(label: string) {
  const placed = await placeOrder(
    flow.orders.db,
    prepareOrder({ userId: 'steady', amount: 100n, description: label, traceparent: newTraceparent() }),
  );
  return waitFor(
    `order "${label}" paid`,
    async () => (await findOrder(flow.orders.db, placed.id))?.status === 'FINISHED',
    60_000,
  );
}

heal.before(async () => {
  await healBroker();
  flow = await createFlow('heal');
  worker = await flow.startPaymentsWorker();
  const { wallet } = await openWallet(flow.payments.db, 'steady');
  await flow.payments.db.transaction().execute((trx) => topUp(trx, wallet.id, 1_000_000n));
});

heal.after(async () => {
  const codes = await flow.close();
  assert.ok(
    codes.every((code) => code === 0),
    `clean exits, got ${codes.join(',')}`,
  );
});

heal(
  'confirms that never come (a memory alarm) roll the claim back within its bound, and a SIGTERM still stops cleanly',
  async () => {
    const relay = await flow.startOrdersRelay({ OUTBOX_CONFIRM_TIMEOUT_MS: '1000', AMQP_STEP_TIMEOUT_MS: '1000' });
    await undoneAfter(await healBroker(), async () => {
      await runCommand(rabbitmqctl('set_vm_memory_high_watermark', '0.0001'));
      await placeOrder(
        flow.orders.db,
        prepareOrder({
          userId: 'steady',
          amount: 100n,
          description: 'during the alarm',
          traceparent: newTraceparent(),
        }),
      );
      await waitFor(
        'the relay to give up a batch',
        async () => /publisher confirms not received/.test(relay.output()),
        20_000,
      );
      // The claim is rolled back each time: no transaction stays open on the outbox past the confirm bound.
      for (let sample = 0; sample < 10; sample += 1) {
        const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from pg_stat_activity
        where datname = ${flow.orders.name} and state like 'idle in transaction%' and now() - xact_start > interval '3 seconds'`.execute(
          flow.orders.db,
        );
        assert.is(rows[0]!.n, 0, 'no transaction held past the bound');
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      const started = Date.now();
      assert.is(await relay.stop(), 0, 'SIGTERM during the alarm exits 0');
      assert.ok(Date.now() - started < 15_000, 'within the shutdown timeout');
      assert.is(relay.events('shutdown.timed_out').length, 0);
    });
    await flow.startOrdersRelay();
    await payOneOrder('after the alarm');
  },
);

heal(
  'the payments database read-only: payments wait, readiness says why, top-ups answer 503, nothing is dead-lettered',
  async () => {
    const deadLetters = flow.broker.deadLettersOf('payments-worker', PAYMENT_REQUESTED);
    const database = flow.payments.name;
    const { wallet } = await openWallet(flow.payments.db, 'steady');
    const api = createPaymentsApp({ db: flow.payments.db, logger: createLogger('heal-test', 'error') });
    const undo = psql(
      `alter database "${database}" reset default_transaction_read_only`,
      terminateBackends([database]),
    );
    let placedId = '';
    await undoneAfter(undo, async () => {
      await runCommand(
        psql(`alter database "${database}" set default_transaction_read_only = on`, terminateBackends([database])),
      );
      const retriesBefore = worker.events('inbox.apply_retrying').length;
      placedId = (
        await placeOrder(
          flow.orders.db,
          prepareOrder({
            userId: 'steady',
            amount: 100n,
            description: 'while read-only',
            traceparent: newTraceparent(),
          }),
        )
      ).id;
      await waitFor(
        'the worker to retry',
        async () => worker.events('inbox.apply_retrying').length >= retriesBefore + 3,
      );
      const ready = await worker.health('ready');
      assert.is(ready.status, 503);
      assert.match(ready.body, /read-only/);
      const topUpResponse = await api.request(`/payments/add/${wallet.id}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"amount": 5}',
      });
      assert.is(topUpResponse.status, 503);
      assert.ok(topUpResponse.headers.get('retry-after'), 'with Retry-After');
      assert.is(await flow.broker.count(deadLetters), 0, 'nothing dead-lettered');
    });
    await waitFor(
      'the order paid once writable',
      async () => (await findOrder(flow.orders.db, placedId))?.status === 'FINISHED',
      60_000,
    );
    await waitFor('ready again', async () => (await worker.health('ready')).status === 200);
    assert.is(await flow.broker.count(deadLetters), 0, 'nothing dead-lettered');
    assert.ok(worker.running(), 'no restart needed');
  },
);

heal('a deleted queue is declared again by the processes that need it, and the orders flow', async () => {
  const connectedBefore = worker.events('worker.connected').length;
  const connection = await amqp.connect(AMQP_URL);
  const channel = await connection.createChannel();
  await channel.deleteQueue(flow.broker.queueOf('payments-worker', PAYMENT_REQUESTED));
  await connection.close();
  await waitFor(
    'the worker to start a new session',
    async () => worker.events('worker.connected').length > connectedBefore,
  );
  assert.ok(worker.events('inbox.cancelled_by_broker').length >= 1, 'it heard the cancel');
  await payOneOrder('after the queue was deleted');
  const setAside = await flow.orders.db
    .selectFrom('outbox_message')
    .select('id')
    .where('failed_at', 'is not', null)
    .execute();
  assert.equal(setAside, [], 'no outbox row was set aside for it');
});

heal('a deleted exchange is declared again, with its bindings, and the orders flow', async () => {
  const connection = await amqp.connect(AMQP_URL);
  const channel = await connection.createChannel();
  await channel.deleteExchange(flow.broker.exchange);
  await connection.close();
  await payOneOrder('after the exchange was deleted');
});

heal('a worker that cannot reach RabbitMQ for longer than its bound exits for a restart', async () => {
  const stranded = await flow.startPaymentsWorker(
    { AMQP_URL: 'amqp://guest:guest@127.0.0.1:1', UNREADY_LIMIT_SECONDS: '5' },
    'live',
  );
  assert.is((await stranded.health('ready')).status, 503);
  assert.is((await stranded.health('live')).status, 200, 'alive while within its bound');
  assert.is(await stranded.exited, 1);
  assert.is(stranded.events('worker.unready_too_long').length, 1);
});

heal.run();
