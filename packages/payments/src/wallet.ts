import { sql, type Kysely, type Transaction } from 'kysely';
import { newId } from '@gozon/platform';
import type { PaymentsDb, Wallet } from './schema.ts';

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
 * Credits `amount` kopecks and writes its deposit, through credit_wallet() (payments migration 0007: the one way a
 * balance goes up). No row when there is no such wallet, `ownerId` (if given) does not own it, or the credit would take
 * it past the most a wallet may hold.
 */
async function creditWallet(
  trx: Transaction<PaymentsDb>,
  walletId: string,
  amount: bigint,
  ownerId: string | undefined,
): Promise<Wallet | undefined> {
  const { rows } =
    await sql<Wallet>`select * from credit_wallet(${walletId}::uuid, ${amount}::bigint, ${ownerId ?? null}::text)`.execute(
      trx,
    );
  return rows[0];
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
  if (wallet) return { wallet };
  return { refused: (await findWallet(trx, walletId, ownerId)) ? 'BALANCE_LIMIT' : 'NO_WALLET' };
}
