import { sql, type Transaction } from 'kysely';
import { PAYMENT_FAILED, PAYMENT_SUCCEEDED, encodeMessage, type FailureReason, type PaymentRequested } from '@gozon/contracts';
import type { NewOutboxMessage } from '@gozon/messaging';
import { newId } from '@gozon/runtime';
import type { PaymentOutcome, PaymentsDb } from './schema.ts';

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

interface Debit {
  accountId: string;
  orderId: string;
  amount: bigint;
}

/**
 * Writes a batch's decisions in one statement: each wallet debited by the sum
 * of its debits, a ledger entry per debit, and the outcome on each payment
 * slot. PostgreSQL runs every part of a WITH once, to completion, whether or
 * not the last part reads it; CHECK (balance >= 0) and the ledger's unique
 * debit per order fail the whole statement, and with it the batch.
 */
async function recordDecisions(trx: Transaction<PaymentsDb>, debits: Debit[], outcomes: Array<{ orderId: string; outcome: PaymentOutcome; reason: FailureReason | null }>) {
  const perAccount = new Map<string, bigint>();
  for (const debit of debits) perAccount.set(debit.accountId, (perAccount.get(debit.accountId) ?? 0n) + debit.amount);
  const money =
    debits.length === 0
      ? sql``
      : sql`
    with debited as (
      update account set balance = balance - debit.amount, updated_at = now()
      from (values ${sql.join([...perAccount].map(([id, amount]) => sql`(${id}::uuid, ${amount}::bigint)`))}) as debit (id, amount)
      where account.id = debit.id
    ), entered as (
      insert into ledger_entry (account_id, kind, amount, order_id)
      values ${sql.join(debits.map((d) => sql`(${d.accountId}::uuid, 'debit', ${d.amount}::bigint, ${d.orderId}::uuid)`))}
    )`;
  await sql`${money}
    update payment set outcome = decided.outcome, reason = decided.reason
    from (values ${sql.join(outcomes.map((o) => sql`(${o.orderId}::uuid, ${o.outcome}, ${o.reason})`))}) as decided (order_id, outcome, reason)
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
  const debits: Debit[] = [];
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
      debits.push({ accountId: account.id, orderId: request.order_id, amount: request.amount });
      decision = { outcome: 'SUCCEEDED' };
    }
    outcomes.push({ orderId: request.order_id, outcome: decision.outcome === 'SUCCEEDED' ? 'SUCCEEDED' : 'FAILED', reason: decision.outcome === 'FAILED' ? decision.reason : null });
    decided.push({ orderId: request.order_id, decision });
    results.push(resultMessage(request.order_id, decision, traceparent));
  }

  if (outcomes.length > 0) await recordDecisions(trx, debits, outcomes);
  return { decided, results };
}
