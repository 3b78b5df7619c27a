import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { sql } from 'kysely';
import { PAYMENT_REQUESTED, encodeMessage } from '@gozon/contracts';
import { countUnsent, messagingView } from '@gozon/messaging';
import { findOrder, placeOrder, placeOrders, prepareOrder, type Order } from '@gozon/orders';
import { openWallet, topUp, type PaymentsDb } from '@gozon/payments';
import { newId, newTraceparent } from '@gozon/platform';
import { createFlow, waitFor, type Flow } from '@gozon/testkit';
import type { Kysely } from 'kysely';

const RUB = 100n;

let flow: Flow;

async function order(userId: string, amount: bigint): Promise<Order> {
  return placeOrder(
    flow.orders.db,
    prepareOrder({ userId, amount, description: 'test order', traceparent: newTraceparent() }),
  );
}

async function walletWith(userId: string, amount: bigint) {
  const { wallet } = await openWallet(flow.payments.db, userId);
  if (amount > 0n) await flow.payments.db.transaction().execute((trx) => topUp(trx, wallet.id, amount));
  return wallet.id;
}

async function finalStatus(orderId: string) {
  return waitFor(`order ${orderId} to leave NEW`, async () => {
    const found = await findOrder(flow.orders.db, orderId);
    return found && found.status !== 'NEW' ? found : undefined;
  });
}

async function ledgerOf(db: Kysely<PaymentsDb>, walletId: string) {
  const rows = await db
    .selectFrom('ledger_entry')
    .select(['kind', 'amount', 'order_id'])
    .where('wallet_id', '=', walletId)
    .execute();
  const sum = (kind: string) => rows.filter((r) => r.kind === kind).reduce((total, r) => total + r.amount, 0n);
  return { rows, deposits: sum('deposit'), debits: sum('debit') };
}

async function balanceOf(walletId: string) {
  const wallet = await flow.payments.db
    .selectFrom('wallet')
    .select('balance')
    .where('id', '=', walletId)
    .executeTakeFirstOrThrow();
  return wallet.balance;
}

const happy = suite('order → payment → status');

happy.before(async () => {
  flow = await createFlow('flow');
  await Promise.all([flow.startOrdersRelay(), flow.startPaymentsWorker()]);
});
happy.after(async () => {
  const codes = await flow.close();
  assert.ok(
    codes.every((code) => code === 0),
    `every process exits 0 on SIGTERM, got ${codes.join(',')}`,
  );
});

happy('a paid order is FINISHED and debited once', async () => {
  const bill = await walletWith('alice', 500n * RUB);
  const placed = await order('alice', 149n * RUB + 90n);
  const done = await finalStatus(placed.id);
  assert.is(done.status, 'FINISHED');
  assert.is(done.cancel_reason, null);
  assert.is(await balanceOf(bill), 500n * RUB - 14990n);
});

happy('an order without a wallet is CANCELLED with NO_ACCOUNT', async () => {
  const placed = await order('nobody', 10n * RUB);
  const done = await finalStatus(placed.id);
  assert.is(done.status, 'CANCELLED');
  assert.is(done.cancel_reason, 'NO_ACCOUNT');
});

happy('100 concurrent orders of 10 ₽ against 500 ₽: 50 FINISHED, 50 CANCELLED, balance 0', async () => {
  const bill = await walletWith('crowd', 500n * RUB);
  const placed = await Promise.all(Array.from({ length: 100 }, () => order('crowd', 10n * RUB)));
  const done = await Promise.all(placed.map((p) => finalStatus(p.id)));
  const finished = done.filter((o) => o.status === 'FINISHED');
  const cancelled = done.filter((o) => o.status === 'CANCELLED');
  assert.is(finished.length, 50);
  assert.is(cancelled.length, 50);
  assert.ok(cancelled.every((o) => o.cancel_reason === 'INSUFFICIENT_FUNDS'));
  assert.is(await balanceOf(bill), 0n);
  const ledger = await ledgerOf(flow.payments.db, bill);
  assert.is(ledger.deposits - ledger.debits, 0n, 'balance = deposits − debits');
  assert.is(ledger.rows.filter((r) => r.kind === 'debit').length, 50);
  assert.equal(
    new Set(ledger.rows.filter((r) => r.kind === 'debit').map((r) => r.order_id)),
    new Set(finished.map((o) => o.id)),
  );
});

happy('the same payment.requested delivered 5 times debits once', async () => {
  const bill = await walletWith('repeat', 100n * RUB);
  const orderId = newId();
  const request = {
    message_id: newId(),
    order_id: orderId,
    user_id: 'repeat',
    amount: 30n * RUB,
    occurred_at: new Date().toISOString(),
  };
  for (let i = 0; i < 5; i += 1)
    await flow.broker.publish(PAYMENT_REQUESTED, encodeMessage(request), request.message_id);
  // A different message for the same order must not pay it again either.
  await flow.broker.publish(PAYMENT_REQUESTED, encodeMessage({ ...request, message_id: newId() }));
  await waitFor(
    'the payment to be decided',
    async () =>
      (
        await flow.payments.db
          .selectFrom('payment')
          .select('outcome')
          .where('order_id', '=', orderId)
          .executeTakeFirst()
      )?.outcome,
  );
  await waitFor(
    'all six deliveries consumed',
    async () => (await flow.broker.count(flow.broker.queueOf('payments-worker', PAYMENT_REQUESTED))) === 0,
  );
  await waitFor('both message ids in the inbox', async () => {
    const row = await flow.payments.db
      .selectFrom('inbox_message')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n) >= 2;
  });
  const ledger = await ledgerOf(flow.payments.db, bill);
  assert.is(ledger.rows.filter((r) => r.order_id === orderId).length, 1);
  assert.is(await balanceOf(bill), 70n * RUB);
  const results = await flow.payments.db
    .selectFrom('outbox_message')
    .select('id')
    .where(sql<string>`body::jsonb ->> 'order_id'`, '=', orderId)
    .execute();
  assert.is(results.length, 1, 'one payment result for the order');
});

happy('a malformed message lands in the DLQ with its error, and the queue keeps flowing', async () => {
  await flow.broker.publish(PAYMENT_REQUESTED, '{"this is": "not a payment request"', newId());
  const bill = await walletWith('after-poison', 10n * RUB);
  const placed = await order('after-poison', 10n * RUB);
  assert.is((await finalStatus(placed.id)).status, 'FINISHED');
  const dlq = flow.broker.deadLettersOf('payments-worker', PAYMENT_REQUESTED);
  await waitFor('the poison in the DLQ', async () => (await flow.broker.count(dlq)) === 1);
  const [poison] = await flow.broker.drain(dlq);
  assert.match(String(poison?.headers['x-error']), /MalformedMessageError: body is not JSON/);
  assert.is(await balanceOf(bill), 0n);
});

happy('orders placed in one statement each get their own payment request, and each ends on its own', async () => {
  await walletWith('group-rich', 1000n * RUB);
  await walletWith('group-poor', 1n * RUB);
  const inputs = [
    { userId: 'group-rich', amount: 250n * RUB, description: 'first of three', traceparent: newTraceparent() },
    { userId: 'group-nobody', amount: 5n * RUB, description: 'second of three', traceparent: newTraceparent() },
    { userId: 'group-poor', amount: 2n * RUB, description: 'third of three', traceparent: newTraceparent() },
  ].map((request) => prepareOrder(request));
  const placed = await placeOrders(flow.orders.db, inputs);
  assert.equal(
    placed.map((o) => [o.user_id, o.amount, o.description, o.status]),
    inputs.map((i) => [i.userId, i.amount, i.description, 'NEW']),
    'answered in the order of the inputs',
  );
  const done = await Promise.all(placed.map((o) => finalStatus(o.id)));
  assert.equal(
    done.map((o) => [o.status, o.cancel_reason]),
    [
      ['FINISHED', null],
      ['CANCELLED', 'NO_ACCOUNT'],
      ['CANCELLED', 'INSUFFICIENT_FUNDS'],
    ],
  );
});

happy.run();

const crash = suite('a relay killed between publish and mark');

crash.before(async () => {
  flow = await createFlow('crash');
  await flow.startPaymentsWorker();
});
crash.after(async () => {
  await flow.close();
});

crash('re-publishes once its lease lapses, and the inbox absorbs the duplicate: debited once', async () => {
  const bill = await walletWith('victim', 100n * RUB);
  const spy = await flow.broker.spy(PAYMENT_REQUESTED);
  const placed = await order('victim', 25n * RUB);
  // Its lease is 2 × the confirm timeout + the poll interval + the linger: 3 s here, not the default 21 s.
  const doomed = await flow.startOrdersRelay(
    { GOZON_FAULTS: 'relay.after-publish:1', OUTBOX_CONFIRM_TIMEOUT_MS: '1000', OUTBOX_POLL_INTERVAL_MS: '1000' },
    'started',
  );
  assert.is(await doomed.exited, 'SIGKILL', 'the relay died right after the broker confirmed');
  assert.is(await countUnsent(messagingView(flow.orders.db)), 1, 'the row was never marked sent');

  // Started at once, the second relay finds the row leased; it claims it when the lease lapses.
  const relay = await flow.startOrdersRelay();
  await waitFor(
    'the row sent by the second relay',
    async () => (await countUnsent(messagingView(flow.orders.db))) === 0,
  );
  const done = await finalStatus(placed.id);
  assert.is(done.status, 'FINISHED');
  await waitFor(
    'both copies consumed',
    async () => (await flow.broker.count(flow.broker.queueOf('payments-worker', PAYMENT_REQUESTED))) === 0,
  );

  const copies = await flow.broker.drain(spy);
  assert.is(copies.length, 2, 'the message went over the wire twice');
  assert.is(copies[0]?.messageId, copies[1]?.messageId);
  const ledger = await ledgerOf(flow.payments.db, bill);
  assert.is(ledger.rows.filter((r) => r.kind === 'debit').length, 1);
  assert.is(await balanceOf(bill), 75n * RUB);
  assert.is(await relay.stop(), 0);
});

crash.run();
