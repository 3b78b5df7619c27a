import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { PAYMENT_REQUESTED, parsePaymentResult, type PaymentRequested } from '@gozon/contracts';
import { isTransientError, newId } from '@gozon/platform';
import { openWallet, payForOrders, paymentsMigrations, topUp, type PaymentsDb } from '@gozon/payments';
import { createTestDatabase, type TestDatabase } from '@gozon/testkit';

// A batch is decided in delivery order from the locked balances, each order once.

const pay = suite('payForOrders');
let payments: TestDatabase<PaymentsDb>;

const request = (user: string, amount: bigint, orderId = newId()): PaymentRequested => ({
  message_id: newId(),
  order_id: orderId,
  user_id: user,
  amount,
  occurred_at: new Date().toISOString(),
});

/** One inbox batch of these requests, as the consumer hands it over. */
const payAll = (requests: PaymentRequested[]) =>
  payForOrders(payments.db, {
    messages: requests.map((message) => ({ message, type: PAYMENT_REQUESTED, context: { traceparent: null } })),
    settled: [],
  });

const sentResults = () =>
  payments.db.selectFrom('outbox_message').select(['id', 'type', 'body']).orderBy('created_at').execute();

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
  const { fresh, decided } = await payAll(batch);
  assert.is(fresh.size, batch.length, 'every message new to the inbox');
  assert.equal(
    decided.map((d) => [d.orderId, d.decision]),
    batch.map((r, i) => [r.order_id, decided[i]!.decision]),
    'a decision per request, in delivery order',
  );
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
  const sent = await sentResults();
  assert.equal(
    sent.map((r) => r.type),
    ['payment.succeeded', 'payment.failed', 'payment.succeeded', 'payment.failed'],
  );
  assert.equal(
    sent.map((row) => {
      const result = parsePaymentResult(row.type, Buffer.from(row.body));
      assert.is(result.message_id, row.id, 'the body names the row it is sent as');
      return [result.type, result.order_id, 'reason' in result ? result.reason : null];
    }),
    [
      ['payment.succeeded', batch[0]!.order_id, null],
      ['payment.failed', batch[1]!.order_id, 'INSUFFICIENT_FUNDS'],
      ['payment.succeeded', twice, null],
      ['payment.failed', batch[4]!.order_id, 'NO_ACCOUNT'],
    ],
    'each result message as the contract reads it',
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
  const before = await sentResults();
  const { decided } = await payAll([again]);
  assert.equal(decided[0]!.decision, { outcome: 'ALREADY_DECIDED' });
  assert.equal(await sentResults(), before, 'no result sent');
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
  const { decided } = await payAll(batch);
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
      batch.map((b) => b.order_id),
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

pay('a batch naming one message id twice is refused whole: one message is one effect', async () => {
  const once = request('ann', 1n);
  const error = await payAll([once, { ...once, order_id: newId() }]).then(
    () => assert.unreachable('refused'),
    (error: unknown) => error,
  );
  assert.is((error as { code?: string }).code, '22023');
  assert.not.ok(isTransientError(error), 'the batch is at fault, not the database');
  const received = await payments.db
    .selectFrom('inbox_message')
    .select('message_id')
    .where('message_id', '=', once.message_id)
    .execute();
  assert.equal(received, [], 'nothing received, nothing paid');
});

pay('a database its migration has not reached yet is a transient condition, not the messages’ fault', async () => {
  const before = Object.fromEntries(
    Object.entries(paymentsMigrations).filter(([name]) => name !== '0009_pay_for_orders'),
  );
  const older = await createTestDatabase<PaymentsDb>('pay_for_orders_unmigrated', before);
  try {
    const error = await payForOrders(older.db, {
      messages: [{ message: request('ann', 1n), type: PAYMENT_REQUESTED, context: { traceparent: null } }],
      settled: [],
    }).then(
      () => assert.unreachable('no such function'),
      (error: unknown) => error,
    );
    assert.is((error as { code?: string }).code, '42883');
    assert.ok(isTransientError(error), 'retried until the migration runs; nothing dead-lettered');
  } finally {
    await older.drop();
  }
});

pay('the same messages in two batches at once, in opposite orders: applied once, never a deadlock', async () => {
  for (let round = 0; round < 20; round += 1) {
    const batch = Array.from({ length: 20 }, () => request('ann', 1n));
    const [forward, backward] = await Promise.all([payAll(batch), payAll([...batch].reverse())]);
    assert.is(forward.fresh.size + backward.fresh.size, batch.length, 'each message new to exactly one of them');
  }
});

const SEED = 20261130;

pay(
  `property (seed ${SEED}): never negative, in delivery order, each order decided at most once, debits = the successes`,
  async () => {
    const scenario = fc.record({
      balances: fc.array(fc.option(fc.bigInt({ min: 0n, max: 10_000n }), { nil: undefined }), {
        minLength: 4,
        maxLength: 4,
      }),
      requests: fc.array(
        fc.record({
          order: fc.integer({ min: 0, max: 30 }),
          user: fc.integer({ min: 0, max: 3 }),
          amount: fc.bigInt({ min: 1n, max: 4_000n }),
        }),
        { maxLength: 60 },
      ),
      taken: fc.uniqueArray(fc.integer({ min: 0, max: 30 }), { maxLength: 10 }),
    });
    await fc.assert(
      fc.asyncProperty(scenario, async ({ balances, requests, taken }) => {
        // Each run its own users and orders, so that runs share nothing.
        const users = balances.map(() => `user-${newId()}`);
        const orders = Array.from({ length: 31 }, () => newId());
        const running = new Map<string, bigint>();
        for (const [i, balance] of balances.entries()) {
          if (balance === undefined) continue;
          const { wallet } = await openWallet(payments.db, users[i]!);
          if (balance > 0n) await payments.db.transaction().execute((trx) => topUp(trx, wallet.id, balance));
          running.set(users[i]!, balance);
        }
        // Slots taken before: decided by an earlier batch (refused, for a user without a wallet).
        if (taken.length > 0) await payAll(taken.map((order) => request(`nobody-${newId()}`, 1n, orders[order])));
        const batch = requests.map((r) => request(users[r.user]!, r.amount, orders[r.order]));
        const { fresh, decided } = await payAll(batch);

        assert.is(fresh.size, batch.length, 'every message new to the inbox');
        assert.is(decided.length, batch.length, 'a decision per request, in order');
        const seen = new Set<string>();
        const succeeded: string[] = [];
        batch.forEach((r, i) => {
          const { orderId, decision } = decided[i]!;
          assert.is(orderId, r.order_id);
          if (taken.includes(orders.indexOf(r.order_id)) || seen.has(r.order_id)) {
            assert.is(decision.outcome, 'ALREADY_DECIDED', 'each order decided once, never one whose slot was taken');
            return;
          }
          seen.add(r.order_id);
          const balance = running.get(r.user_id);
          if (balance === undefined) assert.equal(decision, { outcome: 'FAILED', reason: 'NO_ACCOUNT' });
          else if (balance < r.amount)
            assert.equal(
              decision,
              { outcome: 'FAILED', reason: 'INSUFFICIENT_FUNDS' },
              'refused only when the balance at its turn cannot cover it',
            );
          else {
            assert.equal(decision, { outcome: 'SUCCEEDED' });
            running.set(r.user_id, balance - r.amount);
            succeeded.push(r.order_id);
          }
        });
        const wallets = await payments.db
          .selectFrom('wallet')
          .select(['user_id', 'balance'])
          .where('user_id', 'in', users)
          .execute();
        for (const wallet of wallets)
          assert.is(
            wallet.balance,
            running.get(wallet.user_id),
            'each balance is what the decisions left, never negative',
          );
        const debits = await payments.db
          .selectFrom('ledger_entry')
          .select('order_id')
          .where('kind', '=', 'debit')
          .where('order_id', 'in', orders)
          .execute();
        assert.equal(
          debits.map((d) => d.order_id).sort(),
          [...succeeded].sort(),
          'a debit for each success, none for anything else',
        );
      }),
      { seed: SEED, numRuns: 100 },
    );
  },
);

pay.run();
