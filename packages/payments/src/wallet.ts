import type { Kysely, Transaction } from 'kysely';
import { MAX_KOPECKS } from '@gozon/money';
import { newId } from '@gozon/platform';
import type { Account, LedgerKind, PaymentsDb } from './schema.ts';

export async function insertAccount(db: Kysely<PaymentsDb>, userId: string): Promise<Account | undefined> {
  return db
    .insertInto('account')
    .values({ id: newId(), user_id: userId })
    .onConflict((oc) => oc.column('user_id').doNothing())
    .returningAll()
    .executeTakeFirst();
}

export async function findAccountOfUser(db: Kysely<PaymentsDb>, userId: string): Promise<Account | undefined> {
  return db.selectFrom('account').selectAll().where('user_id', '=', userId).executeTakeFirst();
}

export async function findAccount(db: Kysely<PaymentsDb>, accountId: string): Promise<Account | undefined> {
  return db.selectFrom('account').selectAll().where('id', '=', accountId).executeTakeFirst();
}

/** A user has one wallet: opening it again returns the one that exists. */
export async function openWallet(db: Kysely<PaymentsDb>, userId: string): Promise<{ account: Account; created: boolean }> {
  const created = await insertAccount(db, userId);
  if (created) return { account: created, created: true };
  const existing = await findAccountOfUser(db, userId);
  if (!existing) throw new Error(`account of ${userId} neither inserted nor found`);
  return { account: existing, created: false };
}

/** No row when there is no such wallet or the credit would take it past the most a wallet may hold. */
export async function creditAccount(trx: Transaction<PaymentsDb>, accountId: string, amount: bigint): Promise<Account | undefined> {
  return trx
    .updateTable('account')
    .set((eb) => ({ balance: eb('balance', '+', amount), updated_at: new Date() }))
    .where('id', '=', accountId)
    .where('balance', '<=', MAX_KOPECKS - amount)
    .returningAll()
    .executeTakeFirst();
}

export async function insertLedgerEntries(
  trx: Transaction<PaymentsDb>,
  entries: Array<{ account_id: string; kind: LedgerKind; amount: bigint; order_id: string | null }>,
): Promise<void> {
  await trx.insertInto('ledger_entry').values(entries).execute();
}

export type TopUpResult = { account: Account } | { refused: 'NO_ACCOUNT' | 'BALANCE_LIMIT' };

/** The credit and its ledger entry, in the caller's transaction. */
export async function topUp(trx: Transaction<PaymentsDb>, accountId: string, amount: bigint): Promise<TopUpResult> {
  const account = await creditAccount(trx, accountId, amount);
  if (account) {
    await insertLedgerEntries(trx, [{ account_id: account.id, kind: 'deposit', amount, order_id: null }]);
    return { account };
  }
  return { refused: (await findAccount(trx, accountId)) ? 'BALANCE_LIMIT' : 'NO_ACCOUNT' };
}
