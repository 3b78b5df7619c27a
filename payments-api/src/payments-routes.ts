import { Hono, type Context } from 'hono';
import type { Kysely } from 'kysely';
import {
  HttpError,
  idempotent,
  inTransaction,
  methodNotAllowed,
  readJsonObject,
  requireAmount,
  requireUserId,
  requireUuid,
} from '@gozon/http';
import { MAX_KOPECKS, toDecimalText, toRublesNumber } from '@gozon/money';
import { type Logger } from '@gozon/platform';
import { findWallet, openWallet, topUp, type PaymentsDb, type Wallet } from '@gozon/payments';

/** A wallet as the API shows it: its id is `bill_id`, its balance in rubles. The API keeps the old names (docs/glossary.md). */
export function toWalletJson(wallet: Wallet) {
  return { bill_id: wallet.id, user_id: wallet.user_id, balance: toRublesNumber(wallet.balance) };
}

/**
 * The optional `?user_id=` of a wallet's routes: the user the caller says owns the wallet, undefined when not given;
 * 400 INVALID_USER_ID when given and malformed (an empty value included).
 */
function optionalOwner(c: Context): string | undefined {
  const ownerId = c.req.query('user_id');
  return ownerId === undefined ? undefined : requireUserId(ownerId);
}

export function paymentsRoutes({ db, logger }: { db: Kysely<PaymentsDb>; logger: Logger }) {
  const payments = new Hono();

  payments.post('/create/:user_id', async (c) => {
    const userId = requireUserId(c.req.param('user_id'));
    return idempotent(c, db, async (scope) => {
      const { wallet, created } = await openWallet(scope, userId);
      if (created) logger.info('wallet.opened', { bill_id: wallet.id, user_id: userId });
      return { status: created ? 201 : 200, body: toWalletJson(wallet) };
    });
  });
  payments.all('/create/:user_id', methodNotAllowed(['POST']));

  payments.post('/add/:bill_id', async (c) => {
    const walletId = requireUuid(c.req.param('bill_id'), 'bill_id');
    const ownerId = optionalOwner(c);
    const body = await readJsonObject(c, ['amount']);
    const amount = requireAmount(body.amount);
    return idempotent(c, db, async (scope) => {
      // Another user's wallet is answered as an unknown one, and the refusal rolls back the key's claim with it.
      const result = await inTransaction(scope, (trx) => topUp(trx, walletId, amount, ownerId));
      if ('refused' in result) {
        if (result.refused === 'NO_WALLET') throw new HttpError(404, 'ACCOUNT_NOT_FOUND', `no wallet ${walletId}`);
        throw new HttpError(
          409,
          'BALANCE_LIMIT',
          `a wallet holds at most ${toDecimalText(MAX_KOPECKS)} ₽; this top-up would exceed it`,
        );
      }
      logger.info('wallet.topped_up', { bill_id: walletId, amount });
      return { status: 200, body: toWalletJson(result.wallet) };
    });
  });
  payments.all('/add/:bill_id', methodNotAllowed(['POST']));

  payments.get('/balance/:bill_id', async (c) => {
    const walletId = requireUuid(c.req.param('bill_id'), 'bill_id');
    const wallet = await findWallet(db, walletId, optionalOwner(c));
    if (!wallet) throw new HttpError(404, 'ACCOUNT_NOT_FOUND', `no wallet ${walletId}`);
    return c.json(toWalletJson(wallet));
  });
  payments.all('/balance/:bill_id', methodNotAllowed(['GET', 'HEAD']));

  return payments;
}
