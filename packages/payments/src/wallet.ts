import type { Kysely, Transaction } from 'kysely';
import { newId } from '@gozon/runtime';
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

export async function creditAccount(trx: Transaction<PaymentsDb>, accountId: string, amount: bigint): Promise<Account | undefined> {
  return trx
    .updateTable('account')
    .set((eb) => ({ balance: eb('balance', '+', amount), updated_at: new Date() }))
    .where('id', '=', accountId)
    .returningAll()
    .executeTakeFirst();
}

export async function insertLedgerEntry(
  trx: Transaction<PaymentsDb>,
  entry: { account_id: string; kind: LedgerKind; amount: bigint; order_id: string | null },
): Promise<void> {
  await trx.insertInto('ledger_entry').values(entry).execute();
}

/** Undefined when there is no such wallet. */
export async function topUp(db: Kysely<PaymentsDb>, accountId: string, amount: bigint): Promise<Account | undefined> {
  return db.transaction().execute(async (trx) => {
    const account = await creditAccount(trx, accountId, amount);
    if (account) await insertLedgerEntry(trx, { account_id: account.id, kind: 'deposit', amount, order_id: null });
    return account;
  });
}
