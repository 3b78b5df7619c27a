import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Hono } from 'hono';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { PAYMENT_REQUESTED, PAYMENT_SUCCEEDED } from '@gozon/contracts';
import { idempotent, purgeExpiredKeys } from '@gozon/http';
import {
  countUnsent,
  forgetAttempts,
  forgiveAttempts,
  listFailedOutbox,
  messagingView,
  purgeReceived,
  purgeSent,
  readAttempts,
  recordAttempts,
  recordPublishFailures,
  relayOutbox,
  releaseLeases,
  retryFailedOutbox,
  type MessagingTables,
} from '@gozon/messaging';
import {
  ORDERS_ROLES,
  applyPaymentResults,
  findOrder,
  findOrders,
  listOrdersChangedSince,
  listOrdersOfUser,
  placeOrders,
  prepareOrder,
  type OrdersDb,
} from '@gozon/orders';
import { PAYMENTS_ROLES, findWallet, openWallet, payForOrders, topUp, type PaymentsDb } from '@gozon/payments';
import { createDb, createPool, databaseSettings, newId, readConfig, urlAsRole } from '@gozon/platform';
import { POSTGRES_URL, launch, uniqueSuffix, withDb } from '@gozon/testkit';

// Each service connects as its own role (packages/<domain>/src/roles.ts). Connected
// as each, every statement the service runs succeeds — the very functions it calls —
// and whatever lies outside its grant is refused: DDL, another table or column,
// another domain's database. The migrations make the roles, as in production.

const INSUFFICIENT_PRIVILEGE = '42501';
const CHECK_VIOLATION = '23514';
const CANNOT_LOG_IN = '28000';
const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

const suffix = uniqueSuffix();
const ORDERS = `gozon_test_roles_orders_${suffix}`;
const PAYMENTS = `gozon_test_roles_payments_${suffix}`;
const open: Array<Kysely<any>> = [];

function connectAs<DB>(database: string, role: string): Kysely<DB> {
  const url = urlAsRole(`${POSTGRES_URL}/${database}`, role);
  const db = createDb<DB>(
    createPool(
      readConfig(databaseSettings(database), { DATABASE_URL: url, DB_POOL_SIZE: '2' }),
      () => {},
      'roles-test',
    ),
  );
  open.push(db);
  return db;
}

async function refused(what: string, attempt: Promise<unknown>, code = INSUFFICIENT_PRIVILEGE) {
  try {
    await attempt;
  } catch (error) {
    assert.is((error as { code?: string }).code, code, `${what}: ${(error as Error).message}`);
    return;
  }
  assert.unreachable(`${what} was allowed`);
}

async function migrate(main: string, database: string) {
  const step = await launch({
    name: 'migrate',
    command: [process.execPath, main],
    env: { DATABASE_URL: `${POSTGRES_URL}/${database}` },
  });
  assert.is(await step.exited, 0, step.output());
}

/** A tiny app on `db` whose one POST is idempotent, as the APIs' are: claim, find and save a key. */
async function useIdempotencyKeys(db: Kysely<any>) {
  const app = new Hono().post('/op', (c) => idempotent(c, db, async () => ({ status: 201, body: { done: true } })));
  const post = () =>
    app.request('/op', { method: 'POST', headers: { 'Idempotency-Key': `key-${newId()}`.slice(0, 40) } });
  const key = `key-${newId()}`;
  const again = () => app.request('/op', { method: 'POST', headers: { 'Idempotency-Key': key } });
  assert.is((await post()).status, 201);
  assert.is((await again()).status, 201);
  assert.is((await again()).headers.get('idempotent-replayed'), 'true');
  assert.ok((await purgeExpiredKeys(db, 100)) >= 0);
}

const ddl = (db: Kysely<any>) => sql`create table intruder (id int)`.execute(db);

const roles = suite('each service connected as its own database role');

roles.before(async () => {
  await migrate('packages/orders/bin/migrate.ts', ORDERS);
  await migrate('packages/payments/bin/migrate.ts', PAYMENTS);
  // Twice: the roles and grants are made idempotently, and a second run changes nothing.
  await migrate('packages/orders/bin/migrate.ts', ORDERS);
  await migrate('packages/payments/bin/migrate.ts', PAYMENTS);
});

roles.after(async () => {
  await Promise.all(open.map((db) => db.destroy()));
  await withDb('postgres', async (admin) => {
    for (const name of [ORDERS, PAYMENTS])
      await admin.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
  });
});

const role = (roles: typeof ORDERS_ROLES, service: string) => roles.services.find((s) => s.service === service)!.role;

roles('orders-api places, reads and lists orders and keeps its keys; nothing else', async () => {
  const db = connectAs<OrdersDb>(ORDERS, role(ORDERS_ROLES, 'orders-api'));
  const [order] = await placeOrders(db, [
    prepareOrder({ userId: 'roles-u1', amount: 100n, description: 'a lamp', traceparent: TRACEPARENT }),
  ]);
  assert.is((await findOrder(db, order!.id))?.status, 'NEW');
  assert.is((await findOrders(db, [order!.id])).length, 1);
  assert.is((await listOrdersOfUser(db, 'roles-u1', 10)).length, 1);
  assert.is((await listOrdersChangedSince(db, 'roles-u1', new Date(0), 10)).length, 1);
  await useIdempotencyKeys(db);

  await refused('DDL', ddl(db));
  await refused('moving an order', db.updateTable('order').set({ status: 'FINISHED' }).execute());
  await refused(
    'placing an order already paid',
    db
      .insertInto('order')
      .values({ id: newId(), user_id: 'x', amount: 1n, description: 'x', status: 'FINISHED' } as never)
      .execute(),
  );
  const messaging = messagingView(db as unknown as Kysely<MessagingTables>);
  await refused(
    'writing an outbox row already sent',
    messaging
      .insertInto('outbox_message')
      .values({ id: newId(), type: 'payment.requested', body: '{}', sent_at: new Date() } as never)
      .execute(),
  );
  await refused(
    'writing another domain’s message',
    messaging.insertInto('outbox_message').values({ id: newId(), type: 'payment.succeeded', body: '{}' }).execute(),
    CHECK_VIOLATION,
  );
  await refused('deleting an order', db.deleteFrom('order').execute());
  await refused('reading the outbox', db.selectFrom('outbox_message').select('body').execute());
  await refused('reading the inbox', db.selectFrom('inbox_message').selectAll().execute());
});

roles('orders-relay relays the outbox, keeps the inbox, moves an order’s status; nothing else', async () => {
  const api = connectAs<OrdersDb>(ORDERS, role(ORDERS_ROLES, 'orders-api'));
  const db = connectAs<OrdersDb>(ORDERS, role(ORDERS_ROLES, 'orders-relay'));
  const messaging = messagingView(db);
  const [order] = await placeOrders(api, [
    prepareOrder({ userId: 'roles-u2', amount: 250n, description: 'a sofa', traceparent: TRACEPARENT }),
  ]);
  const claimed = await relayOutbox(messaging, [], 100, 60_000);
  assert.ok(claimed.length >= 1);
  await releaseLeases(messaging, [claimed[0]!.id]);
  await recordPublishFailures(messaging, [{ id: claimed[0]!.id, error: 'unroutable' }], 5);
  await relayOutbox(
    messaging,
    claimed.map((row) => row.id),
    0,
    60_000,
  );
  assert.is(await countUnsent(messaging), 0);
  assert.ok((await purgeSent(messaging, 0, 100)) >= 1);

  const messageId = newId();
  const { fresh, moved } = await applyPaymentResults(db, {
    messages: [
      {
        message: {
          type: PAYMENT_SUCCEEDED,
          message_id: messageId,
          order_id: order!.id,
          occurred_at: new Date().toISOString(),
        },
        type: PAYMENT_SUCCEEDED,
        context: { traceparent: null },
      },
    ],
    settled: [],
  });
  assert.equal([...fresh], [messageId]);
  assert.equal([...moved.keys()], [order!.id]);
  await recordAttempts(messaging, [messageId]);
  assert.is((await readAttempts(messaging, [messageId])).get(messageId), 1);
  await forgiveAttempts(messaging, [messageId]);
  await forgetAttempts(messaging, [messageId]);
  assert.ok((await purgeReceived(messaging, 0, 100)) >= 0);
  assert.is((await findOrder(db, order!.id))?.status, 'FINISHED');

  await refused('DDL', ddl(db));
  await refused('changing an amount', db.updateTable('order').set({ amount: 1n }).execute());
  await refused('changing an owner', db.updateTable('order').set({ user_id: 'someone' }).execute());
  await refused(
    'placing an order',
    db.insertInto('order').values({ id: newId(), user_id: 'x', amount: 1n, description: 'x' }).execute(),
  );
  await refused('deleting an order', db.deleteFrom('order').execute());
  await refused('rewriting a message', messaging.updateTable('outbox_message').set({ body: '{}' }).execute());
  await refused(
    'writing a message of its own',
    messaging
      .insertInto('outbox_message')
      .values({ id: newId(), type: 'payment.requested', body: '{}', traceparent: null })
      .execute(),
  );
  await refused(
    'sending a message through send_messages()',
    sql`select send_messages(${[newId()]}::uuid[], ${['payment.requested']}::text[], ${['{}']}::text[], ${[null]}::text[])`.execute(
      db,
    ),
  );
  await refused(
    'reading Idempotency-Keys',
    db
      .selectFrom('idempotency_key' as never)
      .selectAll()
      .execute(),
  );
});

roles(
  'payments-api opens and reads wallets and credits them only by a top-up with its deposit; nothing else',
  async () => {
    const db = connectAs<PaymentsDb>(PAYMENTS, role(PAYMENTS_ROLES, 'payments-api'));
    const { wallet } = await openWallet(db, 'roles-u3');
    const credited = await db.transaction().execute((trx) => topUp(trx, wallet.id, 500n));
    assert.ok('wallet' in credited && credited.wallet.balance === 500n);
    assert.is((await findWallet(db, wallet.id, 'roles-u3'))?.balance, 500n);
    await useIdempotencyKeys(db);

    await refused('DDL', ddl(db));
    await refused('giving a wallet away', db.updateTable('wallet').set({ user_id: 'someone' }).execute());
    await refused('deleting a wallet', db.deleteFrom('wallet').execute());
    await refused('rewriting the ledger', db.updateTable('ledger_entry').set({ amount: 1n }).execute());
    await refused('erasing the ledger', db.deleteFrom('ledger_entry').execute());
    await refused('reading the ledger', db.selectFrom('ledger_entry').selectAll().execute());
    await refused('reading payments', db.selectFrom('payment').selectAll().execute());
    await refused(
      'crediting a wallet but by a top-up',
      db
        .updateTable('wallet')
        .set((eb) => ({ balance: eb('balance', '+', 1n) }))
        .execute(),
    );
    await refused('debiting a wallet', db.updateTable('wallet').set({ balance: 0n }).execute());
    await refused(
      'opening a wallet with money in it',
      db.insertInto('wallet').values({ id: newId(), user_id: 'rich', balance: 1000n }).execute(),
    );
    await refused(
      'writing a deposit but by a top-up',
      db
        .insertInto('ledger_entry')
        .values({ wallet_id: wallet.id, kind: 'deposit', amount: 1n, order_id: null } as never)
        .execute(),
    );
  },
);

roles('payments-worker pays, debits and relays its outbox through the inbox; nothing else', async () => {
  const api = connectAs<PaymentsDb>(PAYMENTS, role(PAYMENTS_ROLES, 'payments-api'));
  const db = connectAs<PaymentsDb>(PAYMENTS, role(PAYMENTS_ROLES, 'payments-worker'));
  const messaging = messagingView(db);
  const { wallet } = await openWallet(api, 'roles-u4');
  await api.transaction().execute((trx) => topUp(trx, wallet.id, 1000n));
  const messageId = newId();
  const orderId = newId();
  const { fresh, decided } = await payForOrders(db, {
    messages: [
      {
        message: {
          message_id: messageId,
          order_id: orderId,
          user_id: 'roles-u4',
          amount: 300n,
          occurred_at: new Date().toISOString(),
        },
        type: PAYMENT_REQUESTED,
        context: { traceparent: null },
      },
    ],
    settled: [],
  });
  assert.equal([...fresh], [messageId]);
  assert.equal(decided, [{ orderId, decision: { outcome: 'SUCCEEDED' } }]);
  const claimed = await relayOutbox(messaging, [], 100, 60_000);
  assert.is(claimed.length, 1);
  await relayOutbox(messaging, [claimed[0]!.id], 0, 60_000);
  await recordAttempts(messaging, [messageId]);
  await forgetAttempts(messaging, [messageId]);
  assert.ok((await purgeSent(messaging, 0, 100)) >= 1);
  assert.ok((await purgeReceived(messaging, 0, 100)) >= 0);
  assert.is((await findWallet(api, wallet.id))?.balance, 700n);

  await refused('DDL', ddl(db));
  await refused('opening a wallet', db.insertInto('wallet').values({ id: newId(), user_id: 'x' }).execute());
  await refused('giving a wallet away', db.updateTable('wallet').set({ user_id: 'someone' }).execute());
  await refused('rewriting the ledger', db.updateTable('ledger_entry').set({ amount: 1n }).execute());
  await refused('erasing the ledger', db.deleteFrom('ledger_entry').execute());
  await refused('forgetting a payment', db.deleteFrom('payment').execute());
  await refused('repricing a payment', db.updateTable('payment').set({ amount: 1n }).execute());
  await refused(
    'crediting a wallet',
    db
      .updateTable('wallet')
      .set((eb) => ({ balance: eb('balance', '+', 1n) }))
      .execute(),
  );
  await refused(
    'writing a deposit',
    db
      .insertInto('ledger_entry')
      .values({ wallet_id: wallet.id, kind: 'deposit', amount: 1n, order_id: null })
      .execute(),
  );
  await refused(
    'writing another domain’s message',
    messaging.insertInto('outbox_message').values({ id: newId(), type: 'payment.requested', body: '{}' }).execute(),
    CHECK_VIOLATION,
  );
  await refused(
    'reading Idempotency-Keys',
    db
      .selectFrom('idempotency_key' as never)
      .selectAll()
      .execute(),
  );
});

roles('the DLQ tool lists and retries set-aside outbox rows; nothing else', async () => {
  for (const database of [ORDERS, PAYMENTS]) {
    const db = connectAs<MessagingTables>(database, 'gozon_dlq');
    assert.equal(await listFailedOutbox(db, 10), []);
    assert.is(await retryFailedOutbox(db), 0);
    await refused('DDL', ddl(db));
    await refused('deleting outbox rows', db.deleteFrom('outbox_message').execute());
    await refused('rewriting a message', db.updateTable('outbox_message').set({ body: '{}' }).execute());
    await refused('reading the inbox', db.selectFrom('inbox_message').selectAll().execute());
  }
});

roles('no role reaches the other domain’s database, and nobody logs in as an owner', async () => {
  for (const service of ORDERS_ROLES.services.filter((s) => s.service !== 'dlq')) {
    await refused(`${service.role} on payments`, sql`select 1`.execute(connectAs(PAYMENTS, service.role)));
  }
  for (const service of PAYMENTS_ROLES.services.filter((s) => s.service !== 'dlq')) {
    await refused(`${service.role} on orders`, sql`select 1`.execute(connectAs(ORDERS, service.role)));
  }
  await refused('the orders owner', sql`select 1`.execute(connectAs(ORDERS, ORDERS_ROLES.owner)), CANNOT_LOG_IN);
  await refused('the payments owner', sql`select 1`.execute(connectAs(PAYMENTS, PAYMENTS_ROLES.owner)), CANNOT_LOG_IN);
});

roles('the owner owns every table; the migrations left nothing to the administrator', async () => {
  for (const [database, owner] of [
    [ORDERS, ORDERS_ROLES.owner],
    [PAYMENTS, PAYMENTS_ROLES.owner],
  ] as const) {
    const owners = await withDb(database, async (admin) => {
      const { rows } = await admin.query<{ owner: string }>(
        `select distinct pg_get_userbyid(relowner) as owner from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public'`,
      );
      return rows.map((row) => row.owner);
    });
    assert.equal(owners, [owner], database);
  }
});

roles.run();
