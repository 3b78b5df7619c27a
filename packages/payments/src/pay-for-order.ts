import { sql, type Transaction } from 'kysely';
import {
  PAYMENT_FAILED,
  PAYMENT_SUCCEEDED,
  encodeMessage,
  type FailureReason,
  type PaymentRequested,
} from '@gozon/contracts';
import type { NewOutboxMessage } from '@gozon/messaging';
import { newId } from '@gozon/platform';
import type { PaymentOutcome, PaymentsDb } from './schema.ts';

export interface PaymentRequest {
  request: PaymentRequested;
  traceparent: string | null;
}

export type PaymentDecision =
  { outcome: 'SUCCEEDED' } | { outcome: 'FAILED'; reason: FailureReason } | { outcome: 'ALREADY_DECIDED' };

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
async function lockWallets(trx: Transaction<PaymentsDb>, userIds: string[]) {
  return trx
    .selectFrom('wallet')
    .select(['id', 'user_id', 'balance'])
    .where('user_id', 'in', userIds)
    .orderBy('user_id')
    .forUpdate()
    .execute();
}

export interface Debit {
  walletId: string;
  orderId: string;
  amount: bigint;
}

/** A wallet as locked for a batch: its id, its owner and its balance in kopecks. */
export interface LockedWallet {
  id: string;
  user_id: string;
  balance: bigint;
}

/**
 * Decides a batch of payment requests, in delivery order, from the balances of
 * the batch's locked wallets; no I/O. A request whose order has no free payment
 * slot (decided before, or earlier in this batch) is ALREADY_DECIDED; one of a
 * user without a wallet FAILS with NO_ACCOUNT; one the running balance cannot
 * cover FAILS with INSUFFICIENT_FUNDS; the others SUCCEED and are debited, so
 * no balance goes below zero. Answers a decision per request, in order, and
 * the debits (amounts in kopecks) of those that succeeded.
 */
export function decidePayments(
  wallets: LockedWallet[],
  requests: PaymentRequested[],
  freeSlots: ReadonlySet<string>,
): { decided: DecidedPayment[]; debits: Debit[] } {
  const walletOf = new Map(wallets.map((w) => [w.user_id, w]));
  const balances = new Map(wallets.map((w) => [w.id, w.balance]));
  const free = new Set(freeSlots);
  const decided: DecidedPayment[] = [];
  const debits: Debit[] = [];
  for (const request of requests) {
    // delete: a second request for the same order in this batch finds the slot taken, like any later one.
    if (!free.delete(request.order_id)) {
      decided.push({ orderId: request.order_id, decision: { outcome: 'ALREADY_DECIDED' } });
      continue;
    }
    const wallet = walletOf.get(request.user_id);
    if (!wallet) {
      decided.push({ orderId: request.order_id, decision: { outcome: 'FAILED', reason: 'NO_ACCOUNT' } });
      continue;
    }
    const balance = balances.get(wallet.id)!;
    if (balance < request.amount) {
      decided.push({ orderId: request.order_id, decision: { outcome: 'FAILED', reason: 'INSUFFICIENT_FUNDS' } });
      continue;
    }
    balances.set(wallet.id, balance - request.amount);
    debits.push({ walletId: wallet.id, orderId: request.order_id, amount: request.amount });
    decided.push({ orderId: request.order_id, decision: { outcome: 'SUCCEEDED' } });
  }
  return { decided, debits };
}

/**
 * Writes a batch's decisions in one statement: each wallet debited by the sum
 * of its debits, a ledger entry per debit, and the outcome on each payment
 * slot. PostgreSQL runs every part of a WITH once, to completion, whether or
 * not the last part reads it; CHECK (balance >= 0) and the ledger's unique
 * debit per order fail the whole statement, and with it the batch.
 */
async function recordDecisions(
  trx: Transaction<PaymentsDb>,
  debits: Debit[],
  outcomes: Array<{ orderId: string; outcome: PaymentOutcome; reason: FailureReason | null }>,
) {
  const perWallet = new Map<string, bigint>();
  for (const debit of debits) perWallet.set(debit.walletId, (perWallet.get(debit.walletId) ?? 0n) + debit.amount);
  const money =
    debits.length === 0
      ? sql``
      : sql`
    with debited as (
      update wallet set balance = balance - debit.amount, updated_at = now()
      from (values ${sql.join([...perWallet].map(([id, amount]) => sql`(${id}::uuid, ${amount}::bigint)`))}) as debit (id, amount)
      where wallet.id = debit.id
    ), entered as (
      insert into ledger_entry (wallet_id, kind, amount, order_id)
      values ${sql.join(debits.map((d) => sql`(${d.walletId}::uuid, 'debit', ${d.amount}::bigint, ${d.orderId}::uuid)`))}
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
    return {
      id: messageId,
      type: PAYMENT_SUCCEEDED,
      body: encodeMessage({ message_id: messageId, order_id: orderId, occurred_at: occurredAt }),
      traceparent,
    };
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
  const wallets = await lockWallets(trx, [...new Set(requests.map((r) => r.request.user_id))]);
  const { decided, debits } = decidePayments(
    wallets,
    requests.map((r) => r.request),
    free,
  );
  const outcomes: Array<{ orderId: string; outcome: PaymentOutcome; reason: FailureReason | null }> = [];
  const results: NewOutboxMessage[] = [];
  decided.forEach(({ orderId, decision }, i) => {
    if (decision.outcome === 'ALREADY_DECIDED') return;
    outcomes.push({
      orderId,
      outcome: decision.outcome,
      reason: decision.outcome === 'FAILED' ? decision.reason : null,
    });
    results.push(resultMessage(orderId, decision, requests[i]!.traceparent));
  });

  if (outcomes.length > 0) await recordDecisions(trx, debits, outcomes);
  return { decided, results };
}
