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
 * The order and its payment task in one statement (two data-modifying parts of
 * one WITH): they commit together or not at all, on their own or inside the
 * caller's transaction, and the API pays one round trip per order, not four.
 */
export async function placeOrder(db: Kysely<OrdersDb>, input: PlaceOrder): Promise<Order> {
  const now = new Date();
  const orderId = newId(now.getTime());
  const request: PaymentRequested = {
    message_id: newId(now.getTime()),
    order_id: orderId,
    user_id: input.userId,
    amount: input.amount,
    occurred_at: now.toISOString(),
  };
  return db
    .with('placed', (qb) =>
      qb
        .insertInto('order')
        .values({ id: orderId, user_id: input.userId, amount: input.amount, description: input.description, created_at: now, updated_at: now })
        .returningAll(),
    )
    .with('task', (qb) =>
      qb
        .insertInto('outbox_message')
        .values({ id: request.message_id, type: PAYMENT_REQUESTED, body: encodeMessage(request), traceparent: input.traceparent })
        .returning('id'),
    )
    .selectFrom('placed')
    .selectAll()
    .executeTakeFirstOrThrow();
}
