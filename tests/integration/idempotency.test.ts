import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { sql } from 'kysely';
import { ordersMigrations, type OrdersDb } from '@gozon/orders';
import { paymentsMigrations, type PaymentsDb } from '@gozon/payments';
import { purgeExpiredKeys } from '@gozon/http';
import { PURGE_CHUNK, createLogger, readConfig } from '@gozon/platform';
import { createTestDatabase, type TestDatabase } from '@gozon/testkit';
import { createApp as createOrdersApp } from '../../orders-api/src/app.ts';
import { settings as ordersApiSettings } from '../../orders-api/src/settings.ts';
import { createApp as createPaymentsApp } from '../../payments-api/src/app.ts';

// Idempotency-Key against the real databases: the stored first response, the
// refusal of a reused key, twenty at once, and expiry.

const logger = createLogger('idempotency-test', 'error');
const keys = suite('Idempotency-Key');

let orders: TestDatabase<OrdersDb>;
let payments: TestDatabase<PaymentsDb>;
let ordersApp: ReturnType<typeof createOrdersApp>;
let paymentsApp: ReturnType<typeof createPaymentsApp>;

async function post(
  app: { request: (path: string, init: RequestInit) => Response | Promise<Response> },
  path: string,
  body: string | undefined,
  key?: string,
) {
  return app.request(path, {
    method: 'POST',
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(key ? { 'idempotency-key': key } : {}),
    },
    body,
  });
}

async function count(db: TestDatabase<any>['db'], table: string): Promise<number> {
  const row = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`.execute(db);
  return row.rows[0]!.n;
}

keys.before(async () => {
  orders = await createTestDatabase<OrdersDb>('idem_orders', ordersMigrations);
  payments = await createTestDatabase<PaymentsDb>('idem_payments', paymentsMigrations);
  ordersApp = createOrdersApp({ db: orders.db, logger, config: readConfig(ordersApiSettings) });
  paymentsApp = createPaymentsApp({ db: payments.db, logger });
});

keys.after(async () => {
  await orders.drop();
  await payments.drop();
});

keys('a retry with the same key and body replays the first response and places nothing more', async () => {
  const body = '{"amount": 149.90, "description": "a book"}';
  const first = await post(ordersApp, '/orders/create/alice', body, 'order-1');
  assert.is(first.status, 201);
  const firstBody = await first.json();
  const again = await post(ordersApp, '/orders/create/alice', body, 'order-1');
  assert.is(again.status, 201);
  assert.is(again.headers.get('idempotent-replayed'), 'true');
  assert.equal(await again.json(), firstBody);
  assert.is(await count(orders.db, 'order'), 1);
  assert.is(await count(orders.db, 'outbox_message'), 1, 'one payment request');
});

keys('the same key with another body is 422 and changes nothing', async () => {
  const reused = await post(
    ordersApp,
    '/orders/create/alice',
    '{"amount": 1, "description": "something else"}',
    'order-1',
  );
  assert.is(reused.status, 422);
  assert.is(((await reused.json()) as { error: { code: string } }).error.code, 'IDEMPOTENCY_KEY_REUSED');
  const elsewhere = await post(
    ordersApp,
    '/orders/create/bob',
    '{"amount": 149.90, "description": "a book"}',
    'order-1',
  );
  assert.is(elsewhere.status, 422, 'another path is another request');
  assert.is(await count(orders.db, 'order'), 1);
});

keys('twenty concurrent top-ups with one key credit once, and all answer the same', async () => {
  const wallet = (await (await post(paymentsApp, '/payments/create/carol', undefined)).json()) as { bill_id: string };
  const responses = await Promise.all(
    Array.from({ length: 20 }, () =>
      post(paymentsApp, `/payments/add/${wallet.bill_id}`, '{"amount": 100}', 'topup-carol-1'),
    ),
  );
  assert.equal(
    responses.map((r) => r.status),
    Array(20).fill(200),
  );
  const bodies = await Promise.all(responses.map((r) => r.json()));
  for (const body of bodies) assert.equal(body, { bill_id: wallet.bill_id, user_id: 'carol', balance: 100 });
  assert.is(responses.filter((r) => r.headers.get('idempotent-replayed') === 'true').length, 19);
  const balance = (await (await paymentsApp.request(`/payments/balance/${wallet.bill_id}`)).json()) as {
    balance: number;
  };
  assert.is(balance.balance, 100);
  const deposits = await payments.db
    .selectFrom('ledger_entry')
    .select('amount')
    .where('kind', '=', 'deposit')
    .execute();
  assert.equal(
    deposits.map((d) => d.amount),
    [10000n],
  );
});

keys('a refused request stores nothing: the key stays free', async () => {
  const missing = await post(
    paymentsApp,
    '/payments/add/01a21300-0000-7000-8000-000000000000',
    '{"amount": 5}',
    'topup-nowhere',
  );
  assert.is(missing.status, 404);
  const stored = await payments.db
    .selectFrom('idempotency_key')
    .select('key')
    .where('key', '=', 'topup-nowhere')
    .execute();
  assert.equal(stored, []);
});

keys('a key that is not 1-255 printable characters is 400', async () => {
  for (const key of ['has space', 'x'.repeat(256), 'tab\there']) {
    const response = await post(ordersApp, '/orders/create/alice', '{"amount": 1, "description": "x"}', key);
    assert.is(response.status, 400, key);
    assert.is(((await response.json()) as { error: { code: string } }).error.code, 'INVALID_IDEMPOTENCY_KEY');
  }
  assert.is(await count(orders.db, 'order'), 1);
});

keys('keys expire after 24 hours: then the key is new again, and the purge removes it', async () => {
  await orders.db
    .updateTable('idempotency_key')
    .set({ created_at: sql`now() - interval '25 hours'` })
    .where('key', '=', 'order-1')
    .execute();
  const reusedLater = await post(
    ordersApp,
    '/orders/create/alice',
    '{"amount": 2, "description": "a day later"}',
    'order-1',
  );
  assert.is(reusedLater.status, 201, 'an expired key no longer refers to the old request');
  assert.is(await count(orders.db, 'order'), 2);

  await orders.db
    .updateTable('idempotency_key')
    .set({ created_at: sql`now() - interval '25 hours'` })
    .execute();
  assert.is(await purgeExpiredKeys(orders.db, PURGE_CHUNK), 1);
  assert.is(await count(orders.db, 'idempotency_key'), 0);
});

keys.run();
