import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { ordersMigrations, type OrdersDb } from '@gozon/orders';
import { QUERY_TIMEOUT_MARGIN_MS, createDb, createLogger, createPool, readConfig } from '@gozon/platform';
import { createTestDatabase, expectError, startFaultProxy, type FaultProxy, type TestDatabase } from '@gozon/testkit';
import { createApp } from '../../orders-api/src/app.ts';
import { settings } from '../../orders-api/src/settings.ts';

// Issue 11, kind 8: when the service gives up on a stalled database, the work
// is undone. A POST meets a locked table, a statement that runs too long, or a
// database that stops answering: it is answered 503 with Retry-After before a
// gateway would give up, and once the database is free again the order it
// asked for is not there.

const logger = createLogger('stalled-database-test', 'error');

// Short bounds, so each case takes a few seconds; the arithmetic is the production one.
const config = readConfig(settings, {
  DB_CONNECTION_TIMEOUT_MS: '500',
  DB_STATEMENT_TIMEOUT_MS: '1000',
  DB_LOCK_TIMEOUT_MS: '300',
});
/** An order without a key: its turn, its group's insert, its own insert and read-back (see databaseSettings). */
const WORST_CASE_MS =
  4 * config.DB_CONNECTION_TIMEOUT_MS + 3 * (config.DB_STATEMENT_TIMEOUT_MS + QUERY_TIMEOUT_MARGIN_MS);

let proxy: FaultProxy;
let orders: TestDatabase<OrdersDb>;
let db: Kysely<OrdersDb>;
let app: ReturnType<typeof createApp>;

function placeOrder(description: string, key?: string) {
  return app.request('/orders/create/alice', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
    body: JSON.stringify({ amount: 10, description }),
  });
}

/** The response, or a failure if it did not come within the worst case of the bounds: a gateway would have given up. */
async function withinBound(response: Response | Promise<Response>): Promise<Response> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${WORST_CASE_MS} ms`)), WORST_CASE_MS);
  });
  try {
    return await Promise.race([response, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function expectUnavailable(response: Response) {
  await expectError(response, 503, 'SERVICE_UNAVAILABLE');
  assert.is(response.headers.get('retry-after'), '1');
}

async function ordersDescribed(description: string): Promise<number> {
  const { rows } = await sql<{
    n: number;
  }>`select count(*)::int as n from "order" where description = ${description}`.execute(orders.db);
  return rows[0]!.n;
}

/** Holds an exclusive lock on the order table from another session until release(). */
async function lockOrders() {
  const holder = new pg.Client({ connectionString: orders.url });
  await holder.connect();
  await holder.query('begin');
  await holder.query('lock table "order" in access exclusive mode');
  return {
    async release() {
      await holder.query('rollback');
      await holder.end();
    },
  };
}

const stalled = suite('a stalled database answers 503 and does nothing');

stalled.before(async () => {
  proxy = await startFaultProxy();
  orders = await createTestDatabase<OrdersDb>('stalled', ordersMigrations);
  db = createDb<OrdersDb>(
    createPool({ ...config, DATABASE_URL: proxy.url(orders.name) }, () => {}, 'stalled-orders-api'),
  );
  app = createApp({ db, logger, config });
});

stalled.after(async () => {
  await db.destroy();
  await proxy.close();
  await orders.drop();
});

stalled('the order table locked: 503 within the bound, and after the lock goes the order is not there', async () => {
  const lock = await lockOrders();
  try {
    await expectUnavailable(await withinBound(placeOrder('while locked')));
  } finally {
    await lock.release();
  }
  assert.is((await placeOrder('after the lock')).status, 201, 'the service goes on once the lock is gone');
  assert.is(await ordersDescribed('while locked'), 0);
});

stalled('with an Idempotency-Key: 503, nothing kept, and the same key then places the order once', async () => {
  const lock = await lockOrders();
  try {
    await expectUnavailable(await withinBound(placeOrder('keyed while locked', 'locked-1')));
  } finally {
    await lock.release();
  }
  assert.is(await ordersDescribed('keyed while locked'), 0);
  const retried = await placeOrder('keyed while locked', 'locked-1');
  assert.is(retried.status, 201);
  assert.is(
    retried.headers.get('idempotent-replayed'),
    null,
    'the key was free: nothing of the first request was kept',
  );
  assert.is(await ordersDescribed('keyed while locked'), 1);
});

stalled(
  'a statement that runs past the statement timeout: 503 within the bound, and the order is not there',
  async () => {
    await sql`create function sleep_first() returns trigger language plpgsql as $$ begin perform pg_sleep(3); return new; end $$`.execute(
      orders.db,
    );
    await sql`create trigger slow_order before insert on "order" for each row when (new.description = 'slow') execute function sleep_first()`.execute(
      orders.db,
    );
    await expectUnavailable(await withinBound(placeOrder('slow')));
    assert.is(await ordersDescribed('slow'), 0);
  },
);

stalled(
  'a database that stops answering: 503 within the bound, and once it answers again the order is not there',
  async () => {
    assert.is((await placeOrder('before the stall')).status, 201);
    proxy.stall();
    try {
      await expectUnavailable(await withinBound(placeOrder('during the stall')));
    } finally {
      proxy.resume();
    }
    assert.is((await placeOrder('after the stall')).status, 201, 'the service goes on with fresh connections');
    assert.is(await ordersDescribed('during the stall'), 0);
  },
);

stalled.run();
