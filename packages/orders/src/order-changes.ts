// How orders-api replicas hear that orders changed: the transaction that moves
// an order sends a NOTIFY on this channel, which PostgreSQL delivers to every
// LISTEN connection only once that transaction has committed.

/** The NOTIFY channel of committed order changes. */
export const ORDER_CHANGED_CHANNEL = 'order_changed';

/**
 * Orders one NOTIFY payload names: PostgreSQL refuses a payload of 8,000 bytes
 * or more, and a line is at most 64 + 1 + 36 + 1 + 55 + 1 = 158 bytes (user id,
 * order id, W3C traceparent); 48 lines are 7,584.
 */
export const ORDER_CHANGES_PER_NOTIFY = 48;

export interface OrderChange {
  userId: string;
  orderId: string;
  /** The trace context of the change (its apply span), so that the push to a browser joins the order's trace. */
  traceparent: string | null;
}

/**
 * The changes a payload names: one line per order, `<user_id> <order_id>` and,
 * when the change was traced, ` <traceparent>` (a user id has no spaces).
 * Fields after those are ignored, so that a sender of a later version, adding
 * one, is still heard by this one while both run; a line without a user and an
 * order id is skipped.
 */
export function parseOrderChanges(payload: string): OrderChange[] {
  const changes: OrderChange[] = [];
  for (const line of payload.split('\n')) {
    const [userId, orderId, traceparent] = line.split(' ');
    if (userId && orderId) changes.push({ userId, orderId, traceparent: traceparent || null });
  }
  return changes;
}
