import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Order } from '../../src/lib/api.ts';
import {
  cancelReasonText,
  hasPending,
  laterOf,
  mergeOrders,
  settledSince,
  settledText,
  statusText,
  summarizeBurst,
  upsertOrder,
} from '../../src/lib/orders.ts';
import {
  EMPTY,
  forgetUser,
  loadUsers,
  MAX_RECENT,
  rememberWallet,
  saveUsers,
  selectUser,
  STORAGE_KEY,
  type StorageLike,
} from '../../src/lib/users.ts';

let clock = 0;
function order(id: string, status: Order['status'], extra: Partial<Order> = {}): Order {
  clock += 1;
  const at = new Date(Date.UTC(2026, 10, 25, 10, 0, clock)).toISOString();
  return {
    orderId: id,
    userId: 'alice',
    amount: 10000n,
    description: id,
    status,
    cancelReason: status === 'CANCELLED' ? 'INSUFFICIENT_FUNDS' : null,
    createdAt: at,
    updatedAt: at,
    ...extra,
  };
}

const words = suite('orders in words');

words('statuses and cancel reasons', () => {
  assert.is(statusText('NEW'), 'New');
  assert.is(statusText('FINISHED'), 'Finished');
  assert.is(statusText('CANCELLED'), 'Cancelled');
  assert.is(cancelReasonText('NO_ACCOUNT'), 'No wallet');
  assert.is(cancelReasonText('INSUFFICIENT_FUNDS'), 'Not enough money in the wallet');
  assert.is(cancelReasonText(null), '');
});

words.run();

const watching = suite('when to watch');

watching('pending while any order is NEW', () => {
  assert.is(hasPending([]), false);
  assert.is(hasPending([order('a', 'FINISHED'), order('b', 'CANCELLED')]), false);
  assert.is(hasPending([order('a', 'FINISHED'), order('b', 'NEW')]), true);
});

watching('settledSince names the orders the page saw leave NEW', () => {
  const before = [order('a', 'NEW'), order('b', 'NEW'), order('c', 'FINISHED')];
  const after = [{ ...before[0]!, status: 'FINISHED' as const }, before[1]!, before[2]!];
  assert.equal(
    settledSince(before, after).map((o) => o.orderId),
    ['a'],
  );
  assert.equal(settledSince(after, after), []);
  assert.equal(
    settledSince([], after).map((o) => o.orderId),
    ['a', 'c'],
    'after an empty list every final order is new',
  );
});

watching('settledSince counts an order that arrives settled before its own POST answer, not an old one', () => {
  const older = order('older', 'FINISHED');
  const shown = [order('shown', 'FINISHED')];
  const placedMeanwhile = order('placed', 'CANCELLED');
  assert.equal(
    settledSince(shown, [placedMeanwhile, ...shown, older]).map((o) => o.orderId),
    ['placed'],
    'an order older than every one shown (not in the first list) is no news',
  );
});

watching('a final status is never moved back: laterOf and upsertOrder', () => {
  const fresh = order('a', 'NEW');
  const paid = { ...fresh, status: 'FINISHED' as const };
  assert.is(laterOf(undefined, fresh), fresh);
  assert.is(laterOf(fresh, paid), paid);
  assert.is(laterOf(paid, fresh), paid, 'a late NEW is ignored');
  assert.is(laterOf(paid, { ...paid, status: 'CANCELLED' }), paid, 'a final status is final');

  const other = order('b', 'NEW');
  const shown = [other, fresh];
  assert.equal(
    upsertOrder(shown, paid).map((o) => `${o.orderId}:${o.status}`),
    ['b:NEW', 'a:FINISHED'],
    'replaced in place',
  );
  assert.equal(
    upsertOrder([paid], fresh).map((o) => o.status),
    ['FINISHED'],
  );
  const newest = order('c', 'NEW');
  assert.equal(
    upsertOrder(shown, newest).map((o) => o.orderId),
    ['c', 'b', 'a'],
    'a new order goes where its time puts it',
  );
});

watching('mergeOrders keeps orders the list does not show yet, newest first, and never moves a final one back', () => {
  const old = order('old', 'FINISHED');
  const placed = order('placed', 'NEW');
  assert.equal(
    mergeOrders([old], [old], [placed]).map((o) => o.orderId),
    ['placed', 'old'],
  );
  const listed = { ...placed, status: 'FINISHED' as const };
  assert.equal(
    mergeOrders([listed, old], [placed, old], [placed]).map((o) => `${o.orderId}:${o.status}`),
    ['placed:FINISHED', 'old:FINISHED'],
    'the server’s copy wins over a NEW one',
  );
  assert.equal(
    mergeOrders([placed, old], [listed, old], []).map((o) => `${o.orderId}:${o.status}`),
    ['placed:FINISHED', 'old:FINISHED'],
    'a list that was on its way before the order settled does not undo it',
  );
});

watching('settledText says what happened to the order', () => {
  const lamp = order('l', 'FINISHED', { description: 'a lamp', amount: 12050n });
  assert.is(settledText({ ...lamp, status: 'FINISHED' }), "Order 'a lamp' paid — 120.50\u00a0₽");
  const sofa = { ...lamp, description: 'a sofa', status: 'CANCELLED' as const };
  assert.is(settledText({ ...sofa, cancelReason: 'INSUFFICIENT_FUNDS' }), "Order 'a sofa' cancelled: not enough money");
  assert.is(settledText({ ...sofa, cancelReason: 'NO_ACCOUNT' }), "Order 'a sofa' cancelled: no wallet");
});

watching.run();

const burst = suite('summarizeBurst: the exactly-once check');

burst('12 of 20 paid from a wallet that covers 12', () => {
  const orders = [
    ...Array.from({ length: 12 }, (_, i) => order(`f${i}`, 'FINISHED')),
    ...Array.from({ length: 8 }, (_, i) => order(`c${i}`, 'CANCELLED')),
  ];
  const summary = summarizeBurst(orders, 10000n, 120000n + 5000n, 5000n);
  assert.is(summary.placed, 20);
  assert.is(summary.finished, 12);
  assert.is(summary.cancelled, 8);
  assert.is(summary.notEnoughMoney, 8);
  assert.is(summary.noWallet, 0);
  assert.is(summary.expectedBalance, 5000n);
  assert.is(summary.matches, true);
});

burst('a balance that differs, or an order still NEW, is no match', () => {
  const orders = [order('a', 'FINISHED'), order('b', 'FINISHED')];
  assert.is(summarizeBurst(orders, 100n, 1000n, 900n).matches, false, 'paid twice or not at all');
  assert.is(summarizeBurst(orders, 100n, 1000n, 800n).matches, true);
  assert.is(summarizeBurst([...orders, order('c', 'NEW')], 100n, 1000n, 800n).matches, false);
});

burst('without a wallet every order must be cancelled', () => {
  const cancelled = [
    order('a', 'CANCELLED', { cancelReason: 'NO_ACCOUNT' }),
    order('b', 'CANCELLED', { cancelReason: 'NO_ACCOUNT' }),
  ];
  const summary = summarizeBurst(cancelled, 100n, null, null);
  assert.is(summary.noWallet, 2);
  assert.is(summary.expectedBalance, null);
  assert.is(summary.matches, true);
  assert.is(summarizeBurst([order('x', 'FINISHED')], 100n, null, null).matches, false);
});

burst.run();

const users = suite('recent users in localStorage');

function memoryStorage(initial: Record<string, string> = {}): StorageLike & { data: Record<string, string> } {
  const data = { ...initial };
  return { data, getItem: (key) => data[key] ?? null, setItem: (key, value) => void (data[key] = value) };
}

users('select, remember a wallet, save and load again', () => {
  const storage = memoryStorage();
  let state = selectUser(EMPTY, 'alice');
  state = selectUser(state, 'bob');
  state = rememberWallet(state, 'bob', 'wallet-1');
  state = selectUser(state, 'alice');
  assert.equal(state, {
    current: 'alice',
    recent: [
      { userId: 'alice', walletId: null },
      { userId: 'bob', walletId: 'wallet-1' },
    ],
  });
  saveUsers(storage, state);
  assert.equal(loadUsers(storage), state);
});

users('a wallet this browser stored as billId, before the word was wallet, is still remembered', () => {
  const stored = memoryStorage({ [STORAGE_KEY]: '{"current":"bob","recent":[{"userId":"bob","billId":"wallet-1"}]}' });
  assert.equal(loadUsers(stored), { current: 'bob', recent: [{ userId: 'bob', walletId: 'wallet-1' }] });
});

users('keeps at most MAX_RECENT, newest first', () => {
  let state = EMPTY;
  for (let i = 0; i < MAX_RECENT + 3; i += 1) state = selectUser(state, `u${i}`);
  assert.is(state.recent.length, MAX_RECENT);
  assert.is(state.recent[0]?.userId, `u${MAX_RECENT + 2}`);
});

users('forgetting the current user moves to the next one', () => {
  const state = selectUser(selectUser(EMPTY, 'alice'), 'bob');
  assert.equal(forgetUser(state, 'bob'), { current: 'alice', recent: [{ userId: 'alice', walletId: null }] });
  assert.equal(forgetUser(forgetUser(state, 'bob'), 'alice'), { current: null, recent: [] });
});

users('garbage in storage, or no storage, is an empty start', () => {
  assert.equal(loadUsers(null), EMPTY);
  assert.equal(loadUsers(memoryStorage({ [STORAGE_KEY]: '{not json' })), EMPTY);
  assert.equal(loadUsers(memoryStorage({ [STORAGE_KEY]: '42' })), EMPTY);
  assert.equal(
    loadUsers(
      memoryStorage({ [STORAGE_KEY]: '{"current":"ghost","recent":[{"userId":7},{"userId":"a","walletId":3}]}' }),
    ),
    {
      current: null,
      recent: [{ userId: 'a', walletId: null }],
    },
  );
  const throwing: StorageLike = {
    getItem: () => null,
    setItem: () => {
      throw new Error('QuotaExceededError');
    },
  };
  saveUsers(throwing, EMPTY);
});

users.run();
