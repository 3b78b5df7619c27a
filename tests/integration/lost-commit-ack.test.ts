import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql, type Kysely } from 'kysely';
import { ordersMigrations, type OrdersDb } from '@gozon/orders';
import { payForOrders, paymentsMigrations, type PaymentsDb } from '@gozon/payments';
import { PAYMENT_REQUESTED } from '@gozon/contracts';
import { createDb, createLogger, createPool, newId, readConfig } from '@gozon/platform';
import { createTestDatabase, expectError, startFaultProxy, type FaultProxy, type TestDatabase } from '@gozon/testkit';
import { createApp as createOrdersApp } from '../../orders-api/src/app.ts';
import { settings as ordersApiSettings } from '../../orders-api/src/settings.ts';
import { createApp as createPaymentsApp } from '../../payments-api/src/app.ts';
import { settings as paymentsApiSettings } from '../../payments-api/src/settings.ts';

// Issue 11, kind 6: the connection to PostgreSQL drops right after a write
// committed, so the service never hears that it did. A retry of that write must
// find it done instead of doing it again; an outcome nobody could learn is
// answered 503, and is then at most once in the database.

const logger = createLogger('lost-commit-ack-test', 'error');
const GROUP = 19;

let proxy: FaultProxy;
let orders: TestDatabase<OrdersDb>;
let payments: TestDatabase<PaymentsDb>;
let ordersDb: Kysely<OrdersDb>;
let paymentsDb: Kysely<PaymentsDb>;
let ordersApp: ReturnType<typeof createOrdersApp>;
let paymentsApp: ReturnType<typeof createPaymentsApp>;

function post(
  app: { request: (path: string, init: RequestInit) => Response | Promise<Response> },
  path: string,
  body?: unknown,
  key?: string,
) {
  return app.request(path, {
    method: 'POST',
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(key ? { 'idempotency-key': key } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

const placeOrder = (description: string, key?: string) =>
  post(ordersApp, '/orders/create/alice', { amount: 10, description }, key);

/** How many times each order of these descriptions is in the database, and how many payment requests name it. */
async function copiesOf(descriptions: string[]) {
  const { rows } = await sql<{ id: string; description: string; requests: number }>`
    select o.id, o.description, (select count(*)::int from outbox_message t where t.body::jsonb ->> 'order_id' = o.id::text) as requests
    from "order" o where o.description = any(${descriptions})`.execute(orders.db);
  return rows;
}

const lost = suite('a lost commit acknowledgement');

lost.before(async () => {
  proxy = await startFaultProxy();
  orders = await createTestDatabase<OrdersDb>('lost_ack_orders', ordersMigrations);
  payments = await createTestDatabase<PaymentsDb>('lost_ack_payments', paymentsMigrations);
  const ordersConfig = readConfig(ordersApiSettings, { DATABASE_URL: proxy.url(orders.name) });
  const paymentsConfig = readConfig(paymentsApiSettings, { DATABASE_URL: proxy.url(payments.name) });
  ordersDb = createDb<OrdersDb>(createPool(ordersConfig, () => {}, 'lost-ack-orders-api'));
  paymentsDb = createDb<PaymentsDb>(createPool(paymentsConfig, () => {}, 'lost-ack-payments-api'));
  ordersApp = createOrdersApp({ db: ordersDb, logger, config: ordersConfig });
  paymentsApp = createPaymentsApp({ db: paymentsDb, logger });
});

lost.after(async () => {
  await ordersDb.destroy();
  await paymentsDb.destroy();
  await proxy.close();
  await orders.drop();
  await payments.drop();
});

lost(`a grouped insert of ${GROUP} orders: each request is answered 201 with its own order, placed once`, async () => {
  // The first order's insert is held by the stalled proxy, so the others queue behind it and go in one statement.
  const lostGroup = proxy.loseReplyTo('grouped ');
  proxy.stall();
  const first = placeOrder('first alone');
  const grouped = Array.from({ length: GROUP }, (_, i) => placeOrder(`grouped ${i}`));
  await sleep(200); // every request reads its body (no I/O) and queues
  proxy.resume();
  await lostGroup;
  const responses = await Promise.all([first, ...grouped]);

  assert.equal(
    responses.map((r) => r.status),
    Array(GROUP + 1).fill(201),
  );
  const answered = (await Promise.all(responses.map((r) => r.json()))) as Array<{
    order_id: string;
    description: string;
  }>;
  const descriptions = answered.map((a) => a.description);
  const stored = await copiesOf(descriptions);
  assert.is(new Set(answered.map((a) => a.order_id)).size, GROUP + 1, 'each request its own order');
  assert.equal(
    stored.map((s) => s.id).sort(),
    answered.map((a) => a.order_id).sort(),
    'the orders answered are the orders there, each once',
  );
  assert.ok(
    stored.every((s) => s.requests === 1),
    'each order has one payment request',
  );
  const { rows } = await sql<{
    n: number;
  }>`select count(*)::int as n from "order" where description like 'grouped %' group by xmin`.execute(orders.db);
  assert.equal(
    rows.map((r) => r.n),
    [GROUP],
    'the grouped orders were committed together, by the statement whose reply was lost',
  );
});

lost('one order: answered 201 with the order that committed, placed once', async () => {
  const lostOne = proxy.loseReplyTo('one alone');
  const response = await placeOrder('one alone');
  await lostOne;
  assert.is(response.status, 201);
  const body = (await response.json()) as { order_id: string };
  assert.equal(await copiesOf(['one alone']), [{ id: body.order_id, description: 'one alone', requests: 1 }]);
});

lost(
  'when the retry loses its reply too, the outcome is unknown: 503, and the order is there at most once',
  async () => {
    const lostTwice = proxy.loseReplyTo('unknown outcome', { times: 2 });
    const response = await placeOrder('unknown outcome');
    await lostTwice;
    await expectError(response, 503, 'SERVICE_UNAVAILABLE');
    assert.is(response.headers.get('retry-after'), '1');
    const stored = await copiesOf(['unknown outcome']);
    assert.is(stored.length, 1, 'the first attempt committed; its retry placed nothing more');
    assert.is(stored[0]!.requests, 1);
  },
);

lost('an insert its connection prepared before, found by its statement’s text: answered 201, placed once', async () => {
  // Orders one after another go over the same pooled connection (the pool hands out the connection
  // freed last), which prepares the insert once: after that only its name crosses the wire.
  for (const description of ['prepared 1', 'prepared 2']) assert.is((await placeOrder(description)).status, 201);
  const lostPrepared = proxy.loseReplyTo('insert into "order"');
  const response = await placeOrder('prepared 3');
  await lostPrepared;
  assert.is(response.status, 201);
  const body = (await response.json()) as { order_id: string };
  assert.equal(await copiesOf(['prepared 3']), [{ id: body.order_id, description: 'prepared 3', requests: 1 }]);
});

lost(
  'with an Idempotency-Key, a lost COMMIT acknowledgement is 503, and the retry with the key replays the order',
  async () => {
    const lostCommit = proxy.loseReplyTo('commit');
    const unknown = await placeOrder('with a key', 'order-key-1');
    await lostCommit;
    await expectError(unknown, 503, 'SERVICE_UNAVAILABLE');
    const retried = await placeOrder('with a key', 'order-key-1');
    assert.is(retried.status, 201);
    assert.is(retried.headers.get('idempotent-replayed'), 'true');
    const body = (await retried.json()) as { order_id: string };
    assert.equal(await copiesOf(['with a key']), [{ id: body.order_id, description: 'with a key', requests: 1 }]);
  },
);

lost('opening a wallet whose acknowledgement was lost: 503, and opening it again answers the same wallet', async () => {
  const lostOpen = proxy.loseReplyTo('insert into "wallet"');
  const unknown = await post(paymentsApp, '/payments/create/bob');
  await lostOpen;
  await expectError(unknown, 503, 'SERVICE_UNAVAILABLE');
  const again = await post(paymentsApp, '/payments/create/bob');
  assert.is(again.status, 200, 'the wallet is there already');
  const wallets = await payments.db.selectFrom('wallet').select('id').where('user_id', '=', 'bob').execute();
  assert.equal(wallets, [{ id: ((await again.json()) as { bill_id: string }).bill_id }]);
});

lost(
  'an inbox batch whose one call committed but whose reply was lost: its retry applies nothing again, the money moved once',
  async () => {
    const wallet = (await (await post(paymentsApp, '/payments/create/dora')).json()) as { bill_id: string };
    assert.is((await post(paymentsApp, `/payments/add/${wallet.bill_id}`, { amount: 100 })).status, 200);
    const request = {
      message_id: newId(),
      order_id: newId(),
      user_id: 'dora',
      amount: 6000n,
      occurred_at: new Date().toISOString(),
    };
    const batch = {
      messages: [{ message: request, type: PAYMENT_REQUESTED, context: { traceparent: null } }],
      settled: [],
    };
    const lostCall = proxy.loseReplyTo('pay_for_orders');
    await payForOrders(paymentsDb, batch).then(
      () => assert.unreachable('the reply was lost'),
      () => {},
    );
    await lostCall;
    const retried = await payForOrders(paymentsDb, batch);
    assert.equal(retried, { fresh: new Set(), decided: [] }, 'the retry finds the message received');
    const debits = await payments.db
      .selectFrom('ledger_entry')
      .select('amount')
      .where('order_id', '=', request.order_id)
      .execute();
    assert.equal(debits, [{ amount: 6000n }]);
    const results = await payments.db.selectFrom('outbox_message').select('type').execute();
    assert.equal(results, [{ type: 'payment.succeeded' }], 'one result sent');
  },
);

lost(
  'a top-up with an Idempotency-Key whose COMMIT acknowledgement was lost credits once when retried with the key',
  async () => {
    const wallet = (await (await post(paymentsApp, '/payments/create/carol')).json()) as { bill_id: string };
    const lostCommit = proxy.loseReplyTo('commit');
    const unknown = await post(paymentsApp, `/payments/add/${wallet.bill_id}`, { amount: 100 }, 'top-up-key-1');
    await lostCommit;
    await expectError(unknown, 503, 'SERVICE_UNAVAILABLE');
    const retried = await post(paymentsApp, `/payments/add/${wallet.bill_id}`, { amount: 100 }, 'top-up-key-1');
    assert.is(retried.status, 200);
    assert.is(retried.headers.get('idempotent-replayed'), 'true');
    assert.equal(await retried.json(), { bill_id: wallet.bill_id, user_id: 'carol', balance: 100 });
    const deposits = await payments.db
      .selectFrom('ledger_entry')
      .select('amount')
      .where('wallet_id', '=', wallet.bill_id)
      .execute();
    assert.equal(deposits, [{ amount: 10000n }]);
  },
);

lost.run();
