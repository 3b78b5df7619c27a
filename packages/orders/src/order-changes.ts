// How orders-api replicas hear that orders changed: the transaction that moves
// an order sends a NOTIFY on this channel, which PostgreSQL delivers to every
// LISTEN connection only once that transaction has committed.

/** The NOTIFY channel of committed order changes. */
export const ORDER_CHANGED_CHANNEL = 'order_changed';

/**
 * Orders one NOTIFY payload names: PostgreSQL refuses a payload of 8,000 bytes
 * or more, and a line is at most 64 + 1 + 36 + 1 = 102 bytes.
 */
export const ORDER_CHANGES_PER_NOTIFY = 64;

export interface OrderChange {
  userId: string;
  orderId: string;
}

/**
 * The changes a payload names: one line per order, `<user_id> <order_id>`
 * (a user id has no spaces). Lines that do not have that shape are skipped.
 */
export function parseOrderChanges(payload: string): OrderChange[] {
  const changes: OrderChange[] = [];
  for (const line of payload.split('\n')) {
    const [userId, orderId, rest] = line.split(' ');
    if (userId && orderId && rest === undefined) changes.push({ userId, orderId });
  }
  return changes;
}
