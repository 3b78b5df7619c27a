import type { Order } from '@gozon/orders';

// An order event's id is the time its order last changed (updated_at), in
// milliseconds since the epoch. A reconnect sends the last one it saw
// (Last-Event-ID) and is sent again every order of its user changed since then,
// less a lookback: updated_at is when the update ran, before its transaction
// committed, so a change stamped earlier may commit after one the client has
// already seen. An order sent twice is harmless: each event is the whole order.

/** The event id of an order's current state. */
export function eventIdOf(order: Order): string {
  return String(order.updated_at.getTime());
}

/**
 * From a Last-Event-ID, the time after which a catch-up sends every change:
 * the id's time less `lookbackMs`. Undefined, for a snapshot instead, when
 * there is no id, when it is not an event id (not 1–15 digits), or when it is
 * older than `maxAgeMs` before `now` or later than `now` (a cursor from another
 * clock or made up).
 */
export function catchUpSince(
  lastEventId: string | undefined,
  now: Date,
  limits: { lookbackMs: number; maxAgeMs: number },
): Date | undefined {
  if (lastEventId === undefined || !/^\d{1,15}$/.test(lastEventId)) return undefined;
  const seen = Number(lastEventId);
  if (seen < now.getTime() - limits.maxAgeMs || seen > now.getTime()) return undefined;
  return new Date(seen - limits.lookbackMs);
}
