import { sql, type Kysely } from 'kysely';
import { encodeMessage, type FailureReason, type PaymentRequested } from '@gozon/contracts';
import { receiveArguments, type InboxBatch } from '@gozon/messaging';
import { newId } from '@gozon/platform';
import type { PaymentOutcome, PaymentsDb } from './schema.ts';

export type PaymentDecision =
  { outcome: 'SUCCEEDED' } | { outcome: 'FAILED'; reason: FailureReason } | { outcome: 'ALREADY_DECIDED' };

export interface DecidedPayment {
  orderId: string;
  decision: PaymentDecision;
}

/**
 * Pays for a batch of orders, each once, as one inbox transaction in one call
 * of pay_for_orders (payments migration 0009, which says how a batch is
 * decided): the inbox rows, the payment slots, the debits, the ledger entries
 * and the result messages commit together. An order whose slot was taken
 * before, even under another message id, changes nothing: never debited twice,
 * never debited after it was refused. Amounts are kopecks. Answers the message
 * ids that were new to the inbox, and a decision for each of those, in
 * delivery order.
 */
export async function payForOrders(
  db: Kysely<PaymentsDb>,
  batch: InboxBatch<PaymentRequested>,
): Promise<{ fresh: Set<string>; decided: DecidedPayment[] }> {
  const requests = batch.messages.map(({ message }) => message);
  const resultIds = requests.map(() => newId());
  const occurredAt = new Date().toISOString();
  // Each request's result, encoded here for each outcome it can have; the call sends the one it decides.
  const bodies = (reason?: FailureReason) =>
    requests.map((r, i) =>
      encodeMessage({
        message_id: resultIds[i],
        order_id: r.order_id,
        ...(reason && { reason }),
        occurred_at: occurredAt,
      }),
    );
  const { rows } = await sql<{
    message_id: string;
    outcome: PaymentOutcome | 'ALREADY_DECIDED';
    reason: FailureReason | null;
  }>`
    select message_id, outcome, reason from pay_for_orders(
      ${receiveArguments(batch)},
      ${requests.map((r) => r.order_id)}::uuid[],
      ${requests.map((r) => r.user_id)}::text[],
      ${requests.map((r) => r.amount)}::bigint[],
      ${batch.messages.map(({ context }) => context.traceparent)}::text[],
      ${resultIds}::uuid[],
      ${bodies()}::text[],
      ${bodies('NO_ACCOUNT')}::text[],
      ${bodies('INSUFFICIENT_FUNDS')}::text[]
    )`.execute(db);
  const orderOf = new Map(requests.map((r) => [r.message_id, r.order_id]));
  const decided = rows.map(({ message_id, outcome, reason }): DecidedPayment => ({
    orderId: orderOf.get(message_id)!,
    decision: outcome === 'FAILED' ? { outcome, reason: reason! } : { outcome },
  }));
  return { fresh: new Set(rows.map((row) => row.message_id)), decided };
}
