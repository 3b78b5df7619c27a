import type { Kysely } from 'kysely';
import { PAYMENT_REQUESTED, encodeMessage, type PaymentRequested } from '@gozon/contracts';
import { newId } from '@gozon/runtime';
import type { Order, OrdersDb } from './schema.ts';

export interface PlaceOrder {
  userId: string;
  amount: bigint;
  description: string;
  traceparent: string;
}

/**
 * Orders and their payment tasks in one statement (two data-modifying parts of
 * one WITH): each order commits with its task or not at all, on their own or
 * inside the caller's transaction. One round trip and one commit for the lot:
 * the API groups the orders that arrive together (see groupCalls).
 * Answers the orders in the order of the inputs.
 */
export async function placeOrders(db: Kysely<OrdersDb>, inputs: PlaceOrder[]): Promise<Order[]> {
  const now = new Date();
  const placed = inputs.map((input) => {
    const orderId = newId(now.getTime());
    const request: PaymentRequested = {
      message_id: newId(now.getTime()),
      order_id: orderId,
      user_id: input.userId,
      amount: input.amount,
      occurred_at: now.toISOString(),
    };
    return {
      order: { id: orderId, user_id: input.userId, amount: input.amount, description: input.description, created_at: now, updated_at: now },
      task: { id: request.message_id, type: PAYMENT_REQUESTED, body: encodeMessage(request), traceparent: input.traceparent },
    };
  });
  const rows = await db
    .with('placed', (qb) =>
      qb
        .insertInto('order')
        .values(placed.map((p) => p.order))
        .returningAll(),
    )
    .with('task', (qb) =>
      qb
        .insertInto('outbox_message')
        .values(placed.map((p) => p.task))
        .returning('id'),
    )
    .selectFrom('placed')
    .selectAll()
    .execute();
  const byId = new Map(rows.map((row) => [row.id, row]));
  return placed.map((p) => byId.get(p.order.id)!);
}

export async function placeOrder(db: Kysely<OrdersDb>, input: PlaceOrder): Promise<Order> {
  const [order] = await placeOrders(db, [input]);
  return order!;
}
