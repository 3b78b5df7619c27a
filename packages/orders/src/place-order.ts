import { sql, type Kysely } from 'kysely';
import { PAYMENT_REQUESTED, encodeMessage, type PaymentRequested } from '@gozon/contracts';
import { newId } from '@gozon/platform';
import { findOrders } from './find-orders.ts';
import type { Order, OrdersDb } from './schema.ts';

export interface OrderRequest {
  userId: string;
  amount: bigint;
  description: string;
  traceparent: string;
}

/** An order as it will be written, on its first attempt and every retry: its ids and time are part of it. */
export interface PlaceOrder extends OrderRequest {
  orderId: string;
  /** The id of its payment request in the outbox, which is the message id of its payment.requested. */
  paymentRequestId: string;
  placedAt: Date;
}

/** Chooses an order's ids and time once, before the first attempt to place it. */
export function prepareOrder(request: OrderRequest): PlaceOrder {
  const now = new Date();
  return { ...request, orderId: newId(now.getTime()), paymentRequestId: newId(now.getTime()), placedAt: now };
}

/**
 * Orders and their payment requests in one statement (two data-modifying parts of
 * one WITH): each order commits with its request or not at all, on their own or
 * inside the caller's transaction. One round trip and one commit for the lot:
 * the API groups the orders that arrive together (see groupCalls).
 *
 * An order whose id is already there (an earlier attempt committed) is skipped,
 * and so is its request: that one was written with it, and may be sent and purged
 * by now. Answers only the orders this statement inserted, in no set order.
 */
export async function insertOrders(db: Kysely<OrdersDb>, inputs: PlaceOrder[]): Promise<Order[]> {
  const requests: PaymentRequested[] = inputs.map((input) => ({
    message_id: input.paymentRequestId,
    order_id: input.orderId,
    user_id: input.userId,
    amount: input.amount,
    occurred_at: input.placedAt.toISOString(),
  }));
  const requestRows = sql<{ id: string; order_id: string; body: string; traceparent: string }>`unnest(
    ${inputs.map((input) => input.paymentRequestId)}::uuid[],
    ${inputs.map((input) => input.orderId)}::uuid[],
    ${requests.map(encodeMessage)}::text[],
    ${inputs.map((input) => input.traceparent)}::text[]
  )`.as<'request_input'>(sql`request_input(id, order_id, body, traceparent)`);
  return db
    .with('placed', (qb) =>
      qb
        .insertInto('order')
        .values(
          inputs.map((input) => ({
            id: input.orderId,
            user_id: input.userId,
            amount: input.amount,
            description: input.description,
            created_at: input.placedAt,
            updated_at: input.placedAt,
          })),
        )
        .onConflict((oc) => oc.column('id').doNothing())
        .returningAll(),
    )
    .with('request', (qb) =>
      qb
        .insertInto('outbox_message')
        .columns(['id', 'type', 'body', 'traceparent'])
        .expression((eb) =>
          eb
            .selectFrom(requestRows)
            .innerJoin('placed', 'placed.id', 'request_input.order_id')
            .select([
              'request_input.id',
              eb.val(PAYMENT_REQUESTED).as('type'),
              'request_input.body',
              'request_input.traceparent',
            ]),
        )
        .returning('id'),
    )
    .selectFrom('placed')
    .selectAll()
    .execute();
}

/**
 * Places each order of `inputs` once, however often it is called with them: the
 * orders an earlier attempt already placed are read back instead of placed again.
 * Answers the orders in the order of the inputs.
 */
export async function placeOrders(db: Kysely<OrdersDb>, inputs: PlaceOrder[]): Promise<Order[]> {
  const byId = new Map((await insertOrders(db, inputs)).map((order) => [order.id, order]));
  const missing = inputs.filter((input) => !byId.has(input.orderId)).map((input) => input.orderId);
  if (missing.length > 0) for (const order of await findOrders(db, missing)) byId.set(order.id, order);
  return inputs.map((input) => {
    const order = byId.get(input.orderId);
    if (!order) throw new Error(`order ${input.orderId} was neither inserted nor found`);
    return order;
  });
}

export async function placeOrder(db: Kysely<OrdersDb>, input: PlaceOrder): Promise<Order> {
  const [order] = await placeOrders(db, [input]);
  return order!;
}
