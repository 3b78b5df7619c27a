import type { Transaction } from 'kysely';
import { PAYMENT_FAILED, PAYMENT_SUCCEEDED, encodeMessage, type FailureReason, type PaymentRequested } from '@gozon/contracts';
import type { NewOutboxMessage } from '@gozon/messaging';
import { newId } from '@gozon/runtime';
import { findAccountOfUser, insertLedgerEntry } from './wallet.ts';
import type { PaymentOutcome, PaymentsDb } from './schema.ts';

/** Takes the order's payment slot; false if the order was decided before (by any message). */
async function insertPayment(trx: Transaction<PaymentsDb>, request: PaymentRequested): Promise<boolean> {
  const inserted = await trx
    .insertInto('payment')
    .values({ order_id: request.order_id, user_id: request.user_id, amount: request.amount })
    .onConflict((oc) => oc.column('order_id').doNothing())
    .returning('order_id')
    .executeTakeFirst();
  return inserted !== undefined;
}

/** The atomic debit: no row comes back when the balance would go below zero (or there is no wallet). */
async function debitAccount(trx: Transaction<PaymentsDb>, userId: string, amount: bigint): Promise<string | undefined> {
  const account = await trx
    .updateTable('account')
    .set((eb) => ({ balance: eb('balance', '-', amount), updated_at: new Date() }))
    .where('user_id', '=', userId)
    .where('balance', '>=', amount)
    .returning('id')
    .executeTakeFirst();
  return account?.id;
}

async function recordOutcome(trx: Transaction<PaymentsDb>, orderId: string, outcome: PaymentOutcome, reason: FailureReason | null) {
  await trx.updateTable('payment').set({ outcome, reason }).where('order_id', '=', orderId).execute();
}

export type PaymentDecision = { outcome: 'SUCCEEDED' } | { outcome: 'FAILED'; reason: FailureReason } | { outcome: 'ALREADY_DECIDED' };

export interface PaymentOutcomeMessage {
  decision: PaymentDecision;
  /** The result for the orders domain, for the caller to put in the outbox of this same transaction; none when already decided. */
  result: NewOutboxMessage | null;
}

/**
 * Pays for an order once. Runs inside the inbox transaction, so the payment
 * slot, the debit, the ledger entry and (written by the caller) the result
 * message commit together.
 * A second request for the same order, even under another message id, finds the
 * slot taken and changes nothing: an order is never debited twice, and never
 * debited after it was refused (when its order may already be CANCELLED).
 */
export async function payForOrder(trx: Transaction<PaymentsDb>, request: PaymentRequested, traceparent: string | null): Promise<PaymentOutcomeMessage> {
  if (!(await insertPayment(trx, request))) return { decision: { outcome: 'ALREADY_DECIDED' }, result: null };
  const accountId = await debitAccount(trx, request.user_id, request.amount);
  let decision: PaymentDecision;
  if (accountId) {
    await insertLedgerEntry(trx, { account_id: accountId, kind: 'debit', amount: request.amount, order_id: request.order_id });
    decision = { outcome: 'SUCCEEDED' };
  } else {
    const exists = await findAccountOfUser(trx, request.user_id);
    decision = { outcome: 'FAILED', reason: exists ? 'INSUFFICIENT_FUNDS' : 'NO_ACCOUNT' };
  }
  await recordOutcome(trx, request.order_id, decision.outcome, decision.outcome === 'FAILED' ? decision.reason : null);
  const messageId = newId();
  const occurredAt = new Date().toISOString();
  const result =
    decision.outcome === 'SUCCEEDED'
      ? { type: PAYMENT_SUCCEEDED, body: { message_id: messageId, order_id: request.order_id, occurred_at: occurredAt } }
      : { type: PAYMENT_FAILED, body: { message_id: messageId, order_id: request.order_id, reason: decision.reason, occurred_at: occurredAt } };
  return { decision, result: { id: messageId, type: result.type, body: encodeMessage(result.body), traceparent } };
}
