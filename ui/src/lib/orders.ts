// What an order's state means to a person, when to keep watching, how news
// of an order is merged into the list, and the burst check: N orders of A
// placed at once against one wallet.
import type { CancelReason, Order, OrderStatus } from './api.ts';
import { formatRubles } from './money.ts';

export function statusText(status: OrderStatus): string {
  switch (status) {
    case 'NEW':
      return 'New';
    case 'FINISHED':
      return 'Finished';
    case 'CANCELLED':
      return 'Cancelled';
  }
}

export function cancelReasonText(reason: CancelReason | null): string {
  switch (reason) {
    case 'NO_ACCOUNT':
      return 'No wallet';
    case 'INSUFFICIENT_FUNDS':
      return 'Not enough money in the wallet';
    case null:
      return '';
  }
}

export const isPending = (order: Order) => order.status === 'NEW';
export const hasPending = (orders: readonly Order[]) => orders.some(isPending);

/** An order whose payment is decided: its status never changes again. */
export type SettledOrder = Order & { status: 'FINISHED' | 'CANCELLED' };
export const isFinal = (order: Order): order is SettledOrder => !isPending(order);

const newestFirst = (a: Order, b: Order) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0);

/**
 * What the page shows of one order, given what it showed (known) and what just
 * arrived: a final status is final, so a late or repeated answer that says NEW
 * (or says it again) never moves it back.
 */
export function laterOf(known: Order | undefined, incoming: Order): Order {
  return known !== undefined && isFinal(known) ? known : incoming;
}

/**
 * Orders final in `after` that the page saw settle: NEW in `before`, or not
 * shown at all and placed after every order shown (an order whose settled
 * status arrived before the answer to its POST). Older orders that simply were
 * not listed settle nothing (a first load is no news: the caller does not ask).
 */
export function settledSince(before: readonly Order[], after: readonly Order[]): SettledOrder[] {
  const shown = new Map(before.map((o) => [o.orderId, o]));
  const newest = before.reduce((at, o) => (o.createdAt > at ? o.createdAt : at), '');
  return after.filter(isFinal).filter((o) => {
    const was = shown.get(o.orderId);
    return was === undefined ? o.createdAt > newest : isPending(was);
  });
}

/**
 * The list with one order put in place (a new one where its creation time
 * puts it, newest first), never moving a final order back.
 */
export function upsertOrder(shown: readonly Order[], order: Order): Order[] {
  const at = shown.findIndex((o) => o.orderId === order.orderId);
  if (at === -1) return [...shown, order].sort(newestFirst);
  const next = [...shown];
  next[at] = laterOf(shown[at], order);
  return next;
}

/**
 * A fresh list from the server merged into what the page shows: orders the page
 * knows of that the list does not show yet (just placed, or streamed a moment
 * ago: `unlisted`) are kept, a final status shown is never moved back, newest first.
 */
export function mergeOrders(fresh: readonly Order[], shown: readonly Order[], unlisted: readonly Order[]): Order[] {
  const known = new Map<string, Order>();
  for (const o of [...shown, ...unlisted]) known.set(o.orderId, laterOf(known.get(o.orderId), o));
  const listed = new Set(fresh.map((o) => o.orderId));
  const missing = unlisted.filter((o) => !listed.has(o.orderId));
  return [...missing, ...fresh].map((o) => laterOf(known.get(o.orderId), o)).sort(newestFirst);
}

/**
 * What happened to a settled order, in one short sentence:
 * "Order 'a lamp' paid — 120.50 ₽", "Order 'a sofa' cancelled: not enough money".
 */
export function settledText(order: SettledOrder): string {
  const name = `Order '${order.description}'`;
  if (order.status === 'FINISHED') return `${name} paid — ${formatRubles(order.amount)}`;
  return `${name} cancelled: ${order.cancelReason === 'NO_ACCOUNT' ? 'no wallet' : 'not enough money'}`;
}

export interface BurstSummary {
  placed: number;
  finished: number;
  cancelled: number;
  noWallet: number;
  notEnoughMoney: number;
  pending: number;
  /** kopecks, or null without a wallet */
  balanceBefore: bigint | null;
  expectedBalance: bigint | null;
  actualBalance: bigint | null;
  /** every order final and the balance what the FINISHED ones leave */
  matches: boolean;
}

export function summarizeBurst(
  orders: readonly Order[],
  amount: bigint,
  balanceBefore: bigint | null,
  actualBalance: bigint | null,
): BurstSummary {
  const finished = orders.filter((o) => o.status === 'FINISHED').length;
  const cancelled = orders.filter((o) => o.status === 'CANCELLED');
  const pending = orders.filter(isPending).length;
  const expectedBalance = balanceBefore === null ? null : balanceBefore - BigInt(finished) * amount;
  const matches = pending === 0 && expectedBalance === actualBalance && (balanceBefore !== null || finished === 0);
  return {
    placed: orders.length,
    finished,
    cancelled: cancelled.length,
    noWallet: cancelled.filter((o) => o.cancelReason === 'NO_ACCOUNT').length,
    notEnoughMoney: cancelled.filter((o) => o.cancelReason === 'INSUFFICIENT_FUNDS').length,
    pending,
    balanceBefore,
    expectedBalance,
    actualBalance,
    matches,
  };
}

/** "14:05:09" in the viewer's time zone, from the API's ISO time. */
export function clockTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}
