import type { Kysely, Transaction } from 'kysely';
import { MAX_KOPECKS } from '@gozon/money';
import { newId } from '@gozon/platform';
import type { LedgerKind, PaymentsDb, Wallet } from './schema.ts';

async function insertWallet(db: Kysely<PaymentsDb>, userId: string): Promise<Wallet | undefined> {
  return db
    .insertInto('wallet')
    .values({ id: newId(), user_id: userId })
    .onConflict((oc) => oc.column('user_id').doNothing())
    .returningAll()
    .executeTakeFirst();
}

async function findWalletOfUser(db: Kysely<PaymentsDb>, userId: string): Promise<Wallet | undefined> {
  return db.selectFrom('wallet').selectAll().where('user_id', '=', userId).executeTakeFirst();
}

/**
 * The wallet with this id; undefined when there is none or, with `ownerId`, when another user owns it (the caller
 * cannot tell the two apart, so an answer says nothing about other users' wallets).
 */
export async function findWallet(
  db: Kysely<PaymentsDb>,
  walletId: string,
  ownerId?: string,
): Promise<Wallet | undefined> {
  return db
    .selectFrom('wallet')
    .selectAll()
    .where('id', '=', walletId)
    .$if(ownerId !== undefined, (qb) => qb.where('user_id', '=', ownerId!))
    .executeTakeFirst();
}

/** A user has one wallet: opening it again returns the one that exists. */
export async function openWallet(
  db: Kysely<PaymentsDb>,
  userId: string,
): Promise<{ wallet: Wallet; created: boolean }> {
  const created = await insertWallet(db, userId);
  if (created) return { wallet: created, created: true };
  const existing = await findWalletOfUser(db, userId);
  if (!existing) throw new Error(`wallet of ${userId} neither inserted nor found`);
  return { wallet: existing, created: false };
}

/**
 * No row when there is no such wallet, `ownerId` (if given) does not own it, or the credit would take it past the
 * most a wallet may hold.
 */
async function creditWallet(
  trx: Transaction<PaymentsDb>,
  walletId: string,
  amount: bigint,
  ownerId: string | undefined,
): Promise<Wallet | undefined> {
  return trx
    .updateTable('wallet')
    .set((eb) => ({ balance: eb('balance', '+', amount), updated_at: new Date() }))
    .where('id', '=', walletId)
    .$if(ownerId !== undefined, (qb) => qb.where('user_id', '=', ownerId!))
    .where('balance', '<=', MAX_KOPECKS - amount)
    .returningAll()
    .executeTakeFirst();
}

async function insertLedgerEntries(
  trx: Transaction<PaymentsDb>,
  entries: Array<{ wallet_id: string; kind: LedgerKind; amount: bigint; order_id: string | null }>,
): Promise<void> {
  await trx.insertInto('ledger_entry').values(entries).execute();
}

export type TopUpResult = { wallet: Wallet } | { refused: 'NO_WALLET' | 'BALANCE_LIMIT' };

/**
 * The credit of `amount` kopecks and its ledger entry, in the caller's transaction. With `ownerId`, a wallet of
 * another user is refused as NO_WALLET, as if there were none, and nothing is written.
 */
export async function topUp(
  trx: Transaction<PaymentsDb>,
  walletId: string,
  amount: bigint,
  ownerId?: string,
): Promise<TopUpResult> {
  const wallet = await creditWallet(trx, walletId, amount, ownerId);
  if (wallet) {
    await insertLedgerEntries(trx, [{ wallet_id: wallet.id, kind: 'deposit', amount, order_id: null }]);
    return { wallet };
  }
  return { refused: (await findWallet(trx, walletId, ownerId)) ? 'BALANCE_LIMIT' : 'NO_WALLET' };
}
