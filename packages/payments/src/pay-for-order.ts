import { sql, type Transaction } from 'kysely';
import { PAYMENT_FAILED, PAYMENT_SUCCEEDED, encodeMessage, type FailureReason, type PaymentRequested } from '@gozon/contracts';
import type { NewOutboxMessage } from '@gozon/messaging';
import { newId } from '@gozon/runtime';
import type { PaymentOutcome, PaymentsDb } from './schema.ts';
import { insertLedgerEntries } from './wallet.ts';

export interface PaymentRequest {
  request: PaymentRequested;
  traceparent: string | null;
}

export type PaymentDecision = { outcome: 'SUCCEEDED' } | { outcome: 'FAILED'; reason: FailureReason } | { outcome: 'ALREADY_DECIDED' };

export interface DecidedPayment {
  orderId: string;
  decision: PaymentDecision;
}

/**
 * Takes each order's payment slot, in order_id order; returns the orders whose
 * slot was free. An order decided before, by any message, is not decided again.
 */
async function insertPayments(trx: Transaction<PaymentsDb>, requests: PaymentRequested[]): Promise<Set<string>> {
  const rows = [...requests]
    .sort((a, b) => (a.order_id < b.order_id ? -1 : 1))
    .map((r) => ({ order_id: r.order_id, user_id: r.user_id, amount: r.amount }));
  const inserted = await trx
    .insertInto('payment')
    .values(rows)
    .onConflict((oc) => oc.column('order_id').doNothing())
    .returning('order_id')
    .execute();
  return new Set(inserted.map((row) => row.order_id));
}

/** Locks the wallets, always in user_id order, so two batches never wait on each other in a circle. */
async function lockAccounts(trx: Transaction<PaymentsDb>, userIds: string[]) {
  return trx
    .selectFrom('account')
    .select(['id', 'user_id', 'balance'])
    .where('user_id', 'in', userIds)
    .orderBy('user_id')
    .forUpdate()
    .execute();
}

async function debitAccounts(trx: Transaction<PaymentsDb>, debits: Map<string, bigint>) {
  const values = sql.join([...debits].map(([id, amount]) => sql`(${id}::uuid, ${amount}::bigint)`));
  await sql`
    update account set balance = balance - debit.amount, updated_at = now()
    from (values ${values}) as debit (id, amount)
    where account.id = debit.id`.execute(trx);
}

async function recordOutcomes(trx: Transaction<PaymentsDb>, outcomes: Array<{ orderId: string; outcome: PaymentOutcome; reason: FailureReason | null }>) {
  const values = sql.join(outcomes.map((o) => sql`(${o.orderId}::uuid, ${o.outcome}, ${o.reason})`));
  await sql`
    update payment set outcome = decided.outcome, reason = decided.reason
    from (values ${values}) as decided (order_id, outcome, reason)
    where payment.order_id = decided.order_id`.execute(trx);
}

function resultMessage(orderId: string, decision: PaymentDecision, traceparent: string | null): NewOutboxMessage {
  const messageId = newId();
  const occurredAt = new Date().toISOString();
  if (decision.outcome === 'SUCCEEDED') {
    return { id: messageId, type: PAYMENT_SUCCEEDED, body: encodeMessage({ message_id: messageId, order_id: orderId, occurred_at: occurredAt }), traceparent };
  }
  if (decision.outcome !== 'FAILED') throw new Error(`no result message for ${decision.outcome}`);
  return {
    id: messageId,
    type: PAYMENT_FAILED,
    body: encodeMessage({ message_id: messageId, order_id: orderId, reason: decision.reason, occurred_at: occurredAt }),
    traceparent,
  };
}

/**
 * Pays for a batch of orders, each once, inside the inbox transaction: the
 * payment slots, the debits, the ledger entries and the result messages commit
 * together. The wallets are locked first (FOR UPDATE, in one order), the
 * requests decided in delivery order from the locked balances, and the debits
 * written in one statement; CHECK (balance >= 0) stays the last guard. An order
 * whose slot was taken before, even under another message id, changes nothing:
 * never debited twice, never debited after it was refused.
 */
export async function payForOrders(
  trx: Transaction<PaymentsDb>,
  requests: PaymentRequest[],
): Promise<{ decided: DecidedPayment[]; results: NewOutboxMessage[] }> {
  const free = await insertPayments(
    trx,
    requests.map((r) => r.request),
  );
  const accounts = new Map((await lockAccounts(trx, [...new Set(requests.map((r) => r.request.user_id))])).map((a) => [a.user_id, a]));
  const balances = new Map([...accounts.values()].map((a) => [a.id, a.balance]));
  const debits = new Map<string, bigint>();
  const entries: Array<{ account_id: string; kind: 'debit'; amount: bigint; order_id: string }> = [];
  const outcomes: Array<{ orderId: string; outcome: PaymentOutcome; reason: FailureReason | null }> = [];
  const decided: DecidedPayment[] = [];
  const results: NewOutboxMessage[] = [];

  for (const { request, traceparent } of requests) {
    // delete: a second request for the same order in this batch finds the slot taken, like any later one.
    if (!free.delete(request.order_id)) {
      decided.push({ orderId: request.order_id, decision: { outcome: 'ALREADY_DECIDED' } });
      continue;
    }
    const account = accounts.get(request.user_id);
    let decision: PaymentDecision;
    if (!account) decision = { outcome: 'FAILED', reason: 'NO_ACCOUNT' };
    else if (balances.get(account.id)! < request.amount) decision = { outcome: 'FAILED', reason: 'INSUFFICIENT_FUNDS' };
    else {
      balances.set(account.id, balances.get(account.id)! - request.amount);
      debits.set(account.id, (debits.get(account.id) ?? 0n) + request.amount);
      entries.push({ account_id: account.id, kind: 'debit', amount: request.amount, order_id: request.order_id });
      decision = { outcome: 'SUCCEEDED' };
    }
    outcomes.push({ orderId: request.order_id, outcome: decision.outcome === 'SUCCEEDED' ? 'SUCCEEDED' : 'FAILED', reason: decision.outcome === 'FAILED' ? decision.reason : null });
    decided.push({ orderId: request.order_id, decision });
    results.push(resultMessage(request.order_id, decision, traceparent));
  }

  if (debits.size > 0) {
    await debitAccounts(trx, debits);
    await insertLedgerEntries(trx, entries);
  }
  if (outcomes.length > 0) await recordOutcomes(trx, outcomes);
  return { decided, results };
}
