import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { newId } from '@gozon/platform';
import { openWallet, payForOrders, paymentsMigrations, topUp, type PaymentsDb } from '@gozon/payments';
import { createTestDatabase, type TestDatabase } from '@gozon/testkit';

// A batch is decided in delivery order from the locked balances, each order once.

const pay = suite('payForOrders');
let payments: TestDatabase<PaymentsDb>;

const request = (user: string, amount: bigint, orderId = newId()) => ({
  request: { message_id: newId(), order_id: orderId, user_id: user, amount, occurred_at: new Date().toISOString() },
  traceparent: null,
});

pay.before(async () => {
  payments = await createTestDatabase<PaymentsDb>('pay_for_orders', paymentsMigrations);
  const { wallet } = await openWallet(payments.db, 'ann');
  await payments.db.transaction().execute((trx) => topUp(trx, wallet.id, 1000n));
});

pay.after(async () => {
  await payments.drop();
});

pay('one batch: in order until the money runs out, no wallet, and the same order twice', async () => {
  const twice = newId();
  const batch = [
    request('ann', 600n),
    request('ann', 500n),
    request('ann', 400n, twice),
    request('ann', 400n, twice),
    request('bob', 1n),
  ];
  const { decided, results } = await payments.db.transaction().execute((trx) => payForOrders(trx, batch));
  assert.equal(
    decided.map((d) => d.decision),
    [
      { outcome: 'SUCCEEDED' },
      { outcome: 'FAILED', reason: 'INSUFFICIENT_FUNDS' },
      { outcome: 'SUCCEEDED' },
      { outcome: 'ALREADY_DECIDED' },
      { outcome: 'FAILED', reason: 'NO_ACCOUNT' },
    ],
  );
  assert.equal(
    results.map((r) => r.type),
    ['payment.succeeded', 'payment.failed', 'payment.succeeded', 'payment.failed'],
  );
  const wallet = await payments.db
    .selectFrom('wallet')
    .select('balance')
    .where('user_id', '=', 'ann')
    .executeTakeFirstOrThrow();
  assert.is(wallet.balance, 0n);
  const debits = await payments.db
    .selectFrom('ledger_entry')
    .select(['amount', 'order_id'])
    .where('kind', '=', 'debit')
    .execute();
  assert.equal(debits.map((d) => d.amount).sort(), [400n, 600n]);
  const slots = await payments.db
    .selectFrom('payment')
    .select(['outcome', 'reason'])
    .orderBy('amount', 'desc')
    .execute();
  assert.equal(slots, [
    { outcome: 'SUCCEEDED', reason: null },
    { outcome: 'FAILED', reason: 'INSUFFICIENT_FUNDS' },
    { outcome: 'SUCCEEDED', reason: null },
    { outcome: 'FAILED', reason: 'NO_ACCOUNT' },
  ]);
});

pay('a later batch with an order already decided, even refused, changes nothing', async () => {
  const { wallet } = await openWallet(payments.db, 'ann');
  await payments.db.transaction().execute((trx) => topUp(trx, wallet.id, 10_000n));
  const refused = await payments.db
    .selectFrom('payment')
    .select('order_id')
    .where('reason', '=', 'INSUFFICIENT_FUNDS')
    .executeTakeFirstOrThrow();
  const again = request('ann', 500n, refused.order_id);
  const { decided, results } = await payments.db.transaction().execute((trx) => payForOrders(trx, [again]));
  assert.equal(decided[0]!.decision, { outcome: 'ALREADY_DECIDED' });
  assert.equal(results, []);
  const balance = await payments.db
    .selectFrom('wallet')
    .select('balance')
    .where('id', '=', wallet.id)
    .executeTakeFirstOrThrow();
  assert.is(balance.balance, 10_000n, 'an order refused before is not paid after a top-up');
});

pay('a batch where every request is refused records each refusal and moves no money', async () => {
  const before = await payments.db
    .selectFrom('ledger_entry')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  const batch = [request('carol', 100n), request('ann', 10n ** 15n)];
  const { decided } = await payments.db.transaction().execute((trx) => payForOrders(trx, batch));
  assert.equal(
    decided.map((d) => d.decision),
    [
      { outcome: 'FAILED', reason: 'NO_ACCOUNT' },
      { outcome: 'FAILED', reason: 'INSUFFICIENT_FUNDS' },
    ],
  );
  const slots = await payments.db
    .selectFrom('payment')
    .select(['outcome', 'reason'])
    .where(
      'order_id',
      'in',
      batch.map((b) => b.request.order_id),
    )
    .orderBy('amount')
    .execute();
  assert.equal(slots, [
    { outcome: 'FAILED', reason: 'NO_ACCOUNT' },
    { outcome: 'FAILED', reason: 'INSUFFICIENT_FUNDS' },
  ]);
  const after = await payments.db
    .selectFrom('ledger_entry')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  assert.is(after.n, before.n, 'no ledger entry');
});

pay.run();
