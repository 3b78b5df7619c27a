import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import type { PaymentRequested } from '@gozon/contracts';
import { decidePayments, type LockedWallet } from '@gozon/payments';

const decide = suite('decidePayments: the money decision, alone');

const request = (order_id: string, user_id: string, amount: bigint): PaymentRequested => ({
  message_id: `m-${order_id}`,
  order_id,
  user_id,
  amount,
  occurred_at: '2026-11-30T00:00:00.000Z',
});

decide(
  'in delivery order: the first requests the balance covers are paid, a later one it cannot cover is refused',
  () => {
    const wallets: LockedWallet[] = [{ id: 'w-alice', user_id: 'alice', balance: 250n }];
    const requests = [
      request('o1', 'alice', 100n),
      request('o2', 'alice', 200n),
      request('o3', 'alice', 150n),
      request('o4', 'bob', 1n),
      request('o1', 'alice', 100n),
    ];
    const { decided, debits } = decidePayments(wallets, requests, new Set(['o1', 'o2', 'o3', 'o4']));
    assert.equal(
      decided.map((d) => [d.orderId, d.decision.outcome, 'reason' in d.decision ? d.decision.reason : null]),
      [
        ['o1', 'SUCCEEDED', null],
        ['o2', 'FAILED', 'INSUFFICIENT_FUNDS'],
        ['o3', 'SUCCEEDED', null],
        ['o4', 'FAILED', 'NO_ACCOUNT'],
        ['o1', 'ALREADY_DECIDED', null],
      ],
    );
    assert.equal(debits, [
      { walletId: 'w-alice', orderId: 'o1', amount: 100n },
      { walletId: 'w-alice', orderId: 'o3', amount: 150n },
    ]);
  },
);

decide('an order whose slot was taken before is never decided again, nor debited', () => {
  const { decided, debits } = decidePayments(
    [{ id: 'w', user_id: 'u', balance: 1000n }],
    [request('o1', 'u', 10n)],
    new Set(),
  );
  assert.equal(decided, [{ orderId: 'o1', decision: { outcome: 'ALREADY_DECIDED' } }]);
  assert.equal(debits, []);
});

const SEED = 20261130;

decide(
  `property (seed ${SEED}): never negative, in delivery order, each order decided at most once, debits = the successes`,
  () => {
    const users = ['u0', 'u1', 'u2', 'u3'];
    const scenario = fc.record({
      balances: fc.array(fc.option(fc.bigInt({ min: 0n, max: 10_000n }), { nil: undefined }), {
        minLength: users.length,
        maxLength: users.length,
      }),
      requests: fc.array(
        fc.record({
          order: fc.integer({ min: 0, max: 30 }),
          user: fc.constantFrom(...users),
          amount: fc.bigInt({ min: 1n, max: 4_000n }),
        }),
        { maxLength: 60 },
      ),
      taken: fc.uniqueArray(fc.integer({ min: 0, max: 30 }), { maxLength: 10 }),
    });
    fc.assert(
      fc.property(scenario, ({ balances, requests, taken }) => {
        const wallets: LockedWallet[] = users.flatMap((user, i) =>
          balances[i] === undefined ? [] : [{ id: `w-${user}`, user_id: user, balance: balances[i] }],
        );
        const batch = requests.map((r) => request(`o${r.order}`, r.user, r.amount));
        const free = new Set(batch.map((r) => r.order_id).filter((id) => !taken.includes(Number(id.slice(1)))));
        const { decided, debits } = decidePayments(wallets, batch, free);

        assert.is(decided.length, batch.length, 'a decision per request, in order');
        const running = new Map(wallets.map((w) => [w.user_id, w.balance]));
        const seen = new Set<string>();
        batch.forEach((r, i) => {
          const { orderId, decision } = decided[i]!;
          assert.is(orderId, r.order_id);
          if (!free.has(r.order_id) || seen.has(r.order_id)) {
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
          }
        });
        for (const balance of running.values()) assert.ok(balance >= 0n, 'never negative');
        const succeeded = decided.filter((d) => d.decision.outcome === 'SUCCEEDED').map((d) => d.orderId);
        assert.equal(
          debits.map((d) => d.orderId),
          succeeded,
          'a debit for each success, none for anything else',
        );
        for (const wallet of wallets) {
          const spent = debits.filter((d) => d.walletId === wallet.id).reduce((sum, d) => sum + d.amount, 0n);
          assert.is(wallet.balance - spent, running.get(wallet.user_id), 'debits add up to what was taken');
        }
      }),
      { seed: SEED, numRuns: 500 },
    );
  },
);

decide.run();
