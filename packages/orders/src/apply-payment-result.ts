import { sql, type Transaction } from 'kysely';
import { PAYMENT_SUCCEEDED, type PaymentResult } from '@gozon/contracts';
import type { NewMessage } from '@gozon/messaging';
import { traceIdOf } from '@gozon/platform';
import { ORDER_CHANGED_CHANNEL, ORDER_CHANGES_PER_NOTIFY } from './order-changes.ts';
import type { OrdersDb } from './schema.ts';

/** Locks the batch's orders that are still NEW, in id order, so concurrent batches cannot deadlock. */
async function lockNewOrders(trx: Transaction<OrdersDb>, orderIds: string[]) {
  return trx
    .selectFrom('order')
    .select(['id', 'created_at'])
    .where('id', 'in', orderIds)
    .where('status', '=', 'NEW')
    .orderBy('id')
    .forUpdate()
    .execute();
}

/** An order a payment result moved: the result that moved it (with its trace context), and when the order was placed. */
export interface SettledOrder {
  result: PaymentResult;
  traceparent: string | null;
  createdAt: Date;
}

async function finishOrders(trx: Transaction<OrdersDb>, results: NewMessage<PaymentResult>[]) {
  const values = sql.join(
    results.map(({ message: r, context }) => {
      // A message's traceparent header is whatever its publisher sent: only a well-formed one (55
      // characters) goes on, so that no header can push a line past the payload's bound.
      const traceparent = traceIdOf(context.traceparent) ? context.traceparent : null;
      return r.type === PAYMENT_SUCCEEDED
        ? sql`(${r.order_id}::uuid, 'FINISHED', null::text, ${traceparent}::text)`
        : sql`(${r.order_id}::uuid, 'CANCELLED', ${r.reason}::text, ${traceparent}::text)`;
    }),
  );
  // The same statement tells the orders-api replicas (ORDER_CHANGED_CHANNEL): PostgreSQL
  // delivers a NOTIFY only once its transaction commits, and drops it with a rollback.
  // One NOTIFY per ORDER_CHANGES_PER_NOTIFY orders, not one per order. updated_at is the
  // statement's clock, not the transaction's start: the event id (orders-api's event-cursor.ts)
  // then lies as close before the commit as it can. A line carries the change's traceparent,
  // when it has one, so that the push to the browser is a span of the order's trace.
  await sql`
    with moved as (
      update "order" set status = result.status, cancel_reason = result.reason, updated_at = clock_timestamp()
      from (values ${values}) as result (id, status, reason, traceparent)
      where "order".id = result.id and "order".status = 'NEW'
      returning "order".id, "order".user_id, result.traceparent
    ), numbered as (
      select id, user_id, traceparent, (row_number() over () - 1) / ${ORDER_CHANGES_PER_NOTIFY} as chunk from moved
    )
    select pg_notify(
      ${ORDER_CHANGED_CHANNEL},
      string_agg(user_id || ' ' || id || coalesce(' ' || traceparent, ''), E'\n')
    )
    from numbered group by chunk`.execute(trx);
}

/**
 * Moves NEW orders to FINISHED or CANCELLED, a batch in two statements. Final
 * states never change: a result for an order that is no longer NEW (or is
 * unknown) updates nothing. Each moved order is announced on ORDER_CHANGED_CHANNEL
 * (order-changes.ts) with its result's traceparent, delivered after the commit.
 * Returns the orders it moved, by id.
 */
export async function applyPaymentResults(
  trx: Transaction<OrdersDb>,
  results: NewMessage<PaymentResult>[],
): Promise<Map<string, SettledOrder>> {
  const first = new Map<string, NewMessage<PaymentResult>>();
  for (const result of results) if (!first.has(result.message.order_id)) first.set(result.message.order_id, result);
  const open = await lockNewOrders(trx, [...first.keys()]);
  if (open.length > 0)
    await finishOrders(
      trx,
      open.map(({ id }) => first.get(id)!),
    );
  return new Map(
    open.map(({ id, created_at }) => {
      const { message, context } = first.get(id)!;
      return [id, { result: message, traceparent: context.traceparent, createdAt: created_at }];
    }),
  );
}
