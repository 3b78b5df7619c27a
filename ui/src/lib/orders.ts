// What an order's state means to a person, when to keep watching, and the
// burst check: N orders of A placed at once against one wallet.
import type { CancelReason, Order, OrderStatus } from './api.ts';

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

/** Ids of orders that were NEW before and are final now: the moments the balance may have changed. */
export function settledSince(before: readonly Order[], after: readonly Order[]): string[] {
  const wasNew = new Set(before.filter(isPending).map((o) => o.orderId));
  return after.filter((o) => wasNew.has(o.orderId) && !isPending(o)).map((o) => o.orderId);
}

/**
 * A fresh list from the server, with the orders the shop placed a moment ago
 * that the list does not show yet kept on top (newest first either way).
 */
export function mergeOrders(fresh: readonly Order[], placedLocally: readonly Order[]): Order[] {
  const known = new Set(fresh.map((o) => o.orderId));
  const missing = placedLocally.filter((o) => !known.has(o.orderId));
  return [...missing, ...fresh].sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
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
