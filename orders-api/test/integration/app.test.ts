import type { Hono } from 'hono';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PAYMENT_REQUESTED } from '@gozon/contracts';
import { findOrder, ordersMigrations, placeOrders, prepareOrder, type OrdersDb } from '@gozon/orders';
import { createLogger, newTraceparent, readConfig } from '@gozon/platform';
import { countStatements, createTestDatabase, type TestDatabase } from '@gozon/testkit';
import { createApp } from '../../src/app.ts';
import { settings } from '../../src/settings.ts';

// orders-api on a real database: what a placed order leaves behind, and that
// reads find what is there. The answers that need no data are unit-tested.

const stored = suite('orders-api: what is stored and found');
let database: TestDatabase<OrdersDb>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function setup() {
  const { db, statements } = countStatements(database.db);
  const app = createApp({ db, logger: createLogger('test', 'error'), config: readConfig(settings) });
  return { app, statements };
}

async function orderTea(app: Hono, userId: string): Promise<Response> {
  return app.request(`/orders/create/${userId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"amount":149.90,"description":"  green tea "}',
  });
}

stored.before(async () => {
  database = await createTestDatabase<OrdersDb>('orders_api', ordersMigrations);
});

stored.after(async () => {
  await database.drop();
});

stored(
  'a valid order is stored with its payment request, in one statement, amount in exact kopecks, and answered 201',
  async () => {
    const { app, statements } = setup();
    const response = await orderTea(app, 'alice');
    assert.is(response.status, 201);
    const body = (await response.json()) as { order_id: string };
    assert.match(body.order_id, UUID);
    assert.is(statements(), 1, 'the order and its payment request are one statement');

    const order = await findOrder(database.db, body.order_id);
    assert.ok(order, 'the order is stored under the id it was answered with');
    assert.is(order.amount, 14990n, 'the amount is stored as 14990 kopecks');
    assert.is(order.description, 'green tea', 'the description is stored trimmed');
    assert.equal(body, {
      order_id: order.id,
      id: order.id,
      user_id: 'alice',
      amount: 149.9,
      description: 'green tea',
      status: 'NEW',
      cancel_reason: null,
      created_at: order.created_at.toISOString(),
      updated_at: order.updated_at.toISOString(),
    });

    const requests = await database.db.selectFrom('outbox_message').select(['type', 'body']).execute();
    assert.equal(
      requests.map((row) => row.type),
      [PAYMENT_REQUESTED],
      'one payment request, in the outbox',
    );
    const request = JSON.parse(requests[0]!.body) as { amount: number; order_id: string };
    assert.is(request.amount, 14990, 'for the amount in kopecks');
    assert.is(request.order_id, order.id, 'the payment request names the order it belongs to');
  },
);

stored('an order is found by its id, in upper case too', async () => {
  const { app } = setup();
  const placed = (await (await orderTea(app, 'finder')).json()) as { order_id: string };
  for (const id of [placed.order_id, placed.order_id.toUpperCase()]) {
    const response = await app.request(`/orders/status/${id}`);
    assert.is(response.status, 200, id);
    assert.equal(await response.json(), placed, id);
  }
});

stored('a user’s orders are theirs only, 100 unless ?limit says otherwise', async () => {
  const order = (userId: string) =>
    prepareOrder({ userId, amount: 100n, description: 'tea', traceparent: newTraceparent() });
  await placeOrders(database.db, [...Array.from({ length: 101 }, () => order('lister')), order('someone-else')]);
  const { app } = setup();
  for (const [query, count] of [
    ['', 100],
    ['?limit=500', 101],
    ['?limit=2', 2],
  ] as const) {
    const response = await app.request(`/orders/orders/lister${query}`);
    assert.is(response.status, 200);
    const list = (await response.json()) as { user_id: string; orders: Array<{ user_id: string }> };
    assert.is(list.user_id, 'lister');
    assert.is(list.orders.length, count, `${count} orders for ${query || 'no limit'}`);
    assert.ok(
      list.orders.every((o) => o.user_id === 'lister'),
      'none of another user',
    );
  }
});

stored.run();
