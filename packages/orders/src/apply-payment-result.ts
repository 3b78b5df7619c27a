import { sql, type Kysely } from 'kysely';
import { PAYMENT_SUCCEEDED, type PaymentResult } from '@gozon/contracts';
import { receiveArguments, type InboxBatch } from '@gozon/messaging';
import { traceIdOf } from '@gozon/platform';
import { ORDER_CHANGED_CHANNEL, ORDER_CHANGES_PER_NOTIFY } from './order-changes.ts';
import type { OrdersDb } from './schema.ts';

/** An order a payment result moved: the result that moved it (with its trace context), and when the order was placed. */
export interface SettledOrder {
  result: PaymentResult;
  traceparent: string | null;
  createdAt: Date;
}

/**
 * Applies a batch of payment results as one inbox transaction, in one call of
 * apply_payment_results (orders migration 0008): the results new to the inbox
 * move their orders NEW → FINISHED / CANCELLED, the first result per order.
 * Final states never change: a result for an order that is no longer NEW (or
 * is unknown) updates nothing. Each moved order is announced on
 * ORDER_CHANGED_CHANNEL (order-changes.ts) with its result's traceparent,
 * delivered after the commit. Answers the message ids that were new to the
 * inbox, and the orders moved, by id.
 */
export async function applyPaymentResults(
  db: Kysely<OrdersDb>,
  batch: InboxBatch<PaymentResult>,
): Promise<{ fresh: Set<string>; moved: Map<string, SettledOrder> }> {
  const results = batch.messages.map(({ message }) => message);
  // A message's traceparent header is whatever its publisher sent: only a well-formed one (55
  // characters) goes on a NOTIFY line, so that no header can push a line past the payload's bound.
  const traceparents = batch.messages.map(({ context }) =>
    traceIdOf(context.traceparent) ? context.traceparent : null,
  );
  const { rows } = await sql<{ message_id: string; order_created_at: Date | null }>`
    select message_id, order_created_at from apply_payment_results(
      ${receiveArguments(batch)},
      ${results.map((r) => r.order_id)}::uuid[],
      ${results.map((r) => (r.type === PAYMENT_SUCCEEDED ? 'FINISHED' : 'CANCELLED'))}::text[],
      ${results.map((r) => (r.type === PAYMENT_SUCCEEDED ? null : r.reason))}::text[],
      ${traceparents}::text[],
      ${ORDER_CHANGED_CHANNEL}, ${ORDER_CHANGES_PER_NOTIFY}::integer
    )`.execute(db);
  const byId = new Map(batch.messages.map((m) => [m.message.message_id, m]));
  const moved = new Map<string, SettledOrder>();
  for (const row of rows) {
    if (row.order_created_at === null) continue;
    const { message, context } = byId.get(row.message_id)!;
    moved.set(message.order_id, { result: message, traceparent: context.traceparent, createdAt: row.order_created_at });
  }
  return { fresh: new Set(rows.map((row) => row.message_id)), moved };
}
