import type { Transaction } from 'kysely';
import { PAYMENT_REQUESTED, encodeMessage, type PaymentRequested } from '@gozon/contracts';
import { insertOutboxMessages } from '@gozon/messaging';
import { newId } from '@gozon/runtime';
import type { Order, OrdersDb } from './schema.ts';

export interface PlaceOrder {
  userId: string;
  amount: bigint;
  description: string;
  traceparent: string;
}

/** The order and its payment task commit together or not at all: the caller's transaction holds both. */
export async function placeOrder(trx: Transaction<OrdersDb>, input: PlaceOrder): Promise<Order> {
  const order = await trx
    .insertInto('order')
    .values({ id: newId(), user_id: input.userId, amount: input.amount, description: input.description })
    .returningAll()
    .executeTakeFirstOrThrow();
  const request: PaymentRequested = {
    message_id: newId(),
    order_id: order.id,
    user_id: order.user_id,
    amount: order.amount,
    occurred_at: order.created_at.toISOString(),
  };
  await insertOutboxMessages(trx, [{ id: request.message_id, type: PAYMENT_REQUESTED, body: encodeMessage(request), traceparent: input.traceparent }]);
  return order;
}
