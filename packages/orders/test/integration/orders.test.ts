import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PAYMENT_FAILED, PAYMENT_REQUESTED, PAYMENT_SUCCEEDED, type PaymentResult } from '@gozon/contracts';
import {
  ORDER_CHANGED_CHANNEL,
  applyPaymentResults,
  findOrder,
  listOrdersOfUser,
  ordersMigrations,
  parseOrderChanges,
  placeOrders,
  prepareOrder,
  type OrderChange,
  type OrdersDb,
} from '@gozon/orders';
import { createListenClient, newId, newTraceparent } from '@gozon/platform';
import { createTestDatabase, type TestDatabase } from '@gozon/testkit';

// The orders domain on its own database: placing orders with their payment
// requests, and moving them to a final state that never changes again.

const orders = suite('orders: placing, applying payment results, final states');
let database: TestDatabase<OrdersDb>;

const prepared = (userId: string, amount: bigint, description = 'a book') =>
  prepareOrder({ userId, amount, description, traceparent: newTraceparent() });

const succeeded = (orderId: string): PaymentResult => ({
  type: PAYMENT_SUCCEEDED,
  message_id: newId(),
  order_id: orderId,
  occurred_at: new Date().toISOString(),
});
const failed = (orderId: string, reason: 'NO_ACCOUNT' | 'INSUFFICIENT_FUNDS'): PaymentResult => ({
  type: PAYMENT_FAILED,
  message_id: newId(),
  order_id: orderId,
  reason,
  occurred_at: new Date().toISOString(),
});

/** Applies results as one inbox batch; answers the message ids new to the inbox and the orders moved. */
function receive(results: PaymentResult[], traceparent: (result: PaymentResult) => string | null = () => null) {
  return applyPaymentResults(database.db, {
    messages: results.map((message) => ({
      message,
      type: message.type,
      context: { traceparent: traceparent(message) },
    })),
    settled: [],
  });
}

async function apply(results: PaymentResult[], traceparent?: (result: PaymentResult) => string | null) {
  return (await receive(results, traceparent)).moved;
}

orders.before(async () => {
  database = await createTestDatabase<OrdersDb>('orders_domain', ordersMigrations);
});

orders.after(async () => {
  await database.drop();
});

orders('orders are placed NEW, each with one payment request in the outbox carrying its amount', async () => {
  const inputs = [prepared('alice', 14_990n), prepared('alice', 100n), prepared('bob', 1n)];
  const placed = await placeOrders(database.db, inputs);
  assert.equal(
    placed.map((o) => [o.id, o.user_id, o.amount, o.status]),
    inputs.map((i) => [i.orderId, i.userId, i.amount, 'NEW']),
    'answered in the order of the inputs',
  );
  const requests = await database.db
    .selectFrom('outbox_message')
    .select(['id', 'type', 'body'])
    .where(
      'id',
      'in',
      inputs.map((i) => i.paymentRequestId),
    )
    .execute();
  assert.is(requests.length, 3);
  for (const input of inputs) {
    const request = requests.find((t) => t.id === input.paymentRequestId)!;
    assert.is(request.type, PAYMENT_REQUESTED);
    const body = JSON.parse(request.body) as { order_id: string; user_id: string; amount: number };
    assert.equal([body.order_id, body.user_id], [input.orderId, input.userId]);
  }
  assert.equal(
    (await listOrdersOfUser(database.db, 'alice', 10)).map((o) => o.id).sort(),
    [inputs[0]!.orderId, inputs[1]!.orderId].sort(),
  );
});

orders('placing the same prepared orders again places nothing twice and answers the orders already there', async () => {
  const inputs = [prepared('carol', 500n), prepared('carol', 700n)];
  const first = await placeOrders(database.db, inputs);
  const again = await placeOrders(database.db, inputs);
  assert.equal(
    again.map((o) => o.id),
    first.map((o) => o.id),
  );
  const count = await database.db
    .selectFrom('outbox_message')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where(
      'id',
      'in',
      inputs.map((i) => i.paymentRequestId),
    )
    .executeTakeFirstOrThrow();
  assert.is(Number(count.n), 2, 'one payment request each');
  assert.is((await listOrdersOfUser(database.db, 'carol', 10)).length, 2);
});

orders('a success finishes an order, a failure cancels it with its reason; only NEW orders move', async () => {
  const [paid, refused, poor] = await placeOrders(database.db, [
    prepared('dave', 10n),
    prepared('dave', 20n),
    prepared('dave', 30n),
  ]);
  const moved = await apply([
    succeeded(paid!.id),
    failed(refused!.id, 'NO_ACCOUNT'),
    failed(poor!.id, 'INSUFFICIENT_FUNDS'),
    succeeded(newId()),
  ]);
  assert.equal(new Set(moved.keys()), new Set([paid!.id, refused!.id, poor!.id]), 'an unknown order moves nothing');
  assert.equal(
    [(await findOrder(database.db, paid!.id))?.status, (await findOrder(database.db, paid!.id))?.cancel_reason],
    ['FINISHED', null],
  );
  assert.equal(
    [(await findOrder(database.db, refused!.id))?.status, (await findOrder(database.db, refused!.id))?.cancel_reason],
    ['CANCELLED', 'NO_ACCOUNT'],
  );
  assert.equal((await findOrder(database.db, poor!.id))?.cancel_reason, 'INSUFFICIENT_FUNDS');
});

orders(
  'final states never change: a later result of either kind is ignored, and of two in one batch the first wins',
  async () => {
    const [finished, cancelled, both] = await placeOrders(database.db, [
      prepared('erin', 10n),
      prepared('erin', 20n),
      prepared('erin', 30n),
    ]);
    await apply([succeeded(finished!.id), failed(cancelled!.id, 'INSUFFICIENT_FUNDS')]);
    const before = await Promise.all([finished!, cancelled!].map((o) => findOrder(database.db, o.id)));
    const moved = await apply([
      failed(finished!.id, 'NO_ACCOUNT'),
      succeeded(cancelled!.id),
      failed(both!.id, 'NO_ACCOUNT'),
      succeeded(both!.id),
    ]);
    assert.equal(new Set(moved.keys()), new Set([both!.id]));
    const after = await Promise.all([finished!, cancelled!].map((o) => findOrder(database.db, o.id)));
    assert.equal(after, before, 'finished stays finished, cancelled stays cancelled, untouched');
    assert.equal((await findOrder(database.db, both!.id))?.status, 'CANCELLED', 'the first of the two results');
  },
);

orders('a result received before is not applied again, even for an order still NEW', async () => {
  const [order] = await placeOrders(database.db, [prepared('fay', 10n)]);
  const result = succeeded(order!.id);
  const unknown = succeeded(newId());
  const first = await receive([result, unknown]);
  assert.equal(first.fresh, new Set([result.message_id, unknown.message_id]));
  await database.db.updateTable('order').set({ status: 'NEW' }).where('id', '=', order!.id).execute();
  const again = await receive([result, unknown]);
  assert.equal(again.fresh, new Set(), 'both received before');
  assert.equal(again.moved, new Map());
  assert.is((await findOrder(database.db, order!.id))?.status, 'NEW', 'the copy changed nothing');
});

orders(
  'every moved order is announced after the commit with its trace context, in payloads PostgreSQL takes',
  async () => {
    // The longest user id (64 characters) and a traceparent on every line: the longest payload lines there are.
    const userId = 'u'.repeat(64);
    const placed = await placeOrders(
      database.db,
      Array.from({ length: 100 }, () => prepared(userId, 1n)),
    );
    const traceparents = new Map(placed.map((order) => [order.id, newTraceparent()]));
    const listener = createListenClient(database.url, 'orders-test');
    const heard: OrderChange[] = [];
    const payloadBytes: number[] = [];
    await listener.connect();
    try {
      listener.on('notification', ({ payload = '' }) => {
        payloadBytes.push(Buffer.byteLength(payload));
        heard.push(...parseOrderChanges(payload));
      });
      await listener.query(`listen ${ORDER_CHANGED_CHANNEL}`);
      const results = placed.map((order, i) => (i % 2 ? succeeded(order.id) : failed(order.id, 'INSUFFICIENT_FUNDS')));
      // One result without a trace context, and one whose header was no traceparent (and long enough
      // to break the payload's bound): their lines name the orders all the same, without one.
      const garbled = 'not a traceparent '.repeat(500);
      await apply(results, (result) =>
        result === results[0] ? null : result === results[1] ? garbled : traceparents.get(result.order_id)!,
      );
      // A round trip on the same connection: a notification sent before it has arrived by then.
      await listener.query('select 1');
      assert.equal(
        new Map(heard.map((change) => [change.orderId, change])),
        new Map(
          placed.map((order, i) => [
            order.id,
            { userId, orderId: order.id, traceparent: i < 2 ? null : traceparents.get(order.id)! },
          ]),
        ),
      );
      assert.ok(payloadBytes.length > 1 && payloadBytes.every((bytes) => bytes < 8000), payloadBytes.join(','));
    } finally {
      await listener.end();
    }
  },
);

orders.run();
