import { Hono } from 'hono';
import type { Kysely } from 'kysely';
import { HttpError, idempotent, inTransaction, methodNotAllowed, readJsonObject, requireAmount, requireUserId, requireUuid } from '@gozon/http';
import { MAX_KOPECKS, toDecimalText, toRublesNumber } from '@gozon/money';
import { type Logger } from '@gozon/platform';
import { findAccount, openWallet, topUp, type Account, type PaymentsDb } from '@gozon/payments';

export function toWalletJson(account: Account) {
  return { bill_id: account.id, user_id: account.user_id, balance: toRublesNumber(account.balance) };
}

export function paymentsRoutes({ db, logger }: { db: Kysely<PaymentsDb>; logger: Logger }) {
  const payments = new Hono();

  payments.post('/create/:user_id', async (c) => {
    const userId = requireUserId(c.req.param('user_id'));
    return idempotent(c, db, async (scope) => {
      const { account, created } = await openWallet(scope, userId);
      if (created) logger.info('wallet.opened', { bill_id: account.id, user_id: userId });
      return { status: created ? 201 : 200, body: toWalletJson(account) };
    });
  });
  payments.all('/create/:user_id', methodNotAllowed(['POST']));

  payments.post('/add/:bill_id', async (c) => {
    const billId = requireUuid(c.req.param('bill_id'), 'bill_id');
    const body = await readJsonObject(c, ['amount']);
    const amount = requireAmount(body.amount);
    return idempotent(c, db, async (scope) => {
      const result = await inTransaction(scope, (trx) => topUp(trx, billId, amount));
      if ('refused' in result) {
        if (result.refused === 'NO_ACCOUNT') throw new HttpError(404, 'ACCOUNT_NOT_FOUND', `no wallet ${billId}`);
        throw new HttpError(409, 'BALANCE_LIMIT', `a wallet holds at most ${toDecimalText(MAX_KOPECKS)} ₽; this top-up would exceed it`);
      }
      logger.info('wallet.topped_up', { bill_id: billId, amount });
      return { status: 200, body: toWalletJson(result.account) };
    });
  });
  payments.all('/add/:bill_id', methodNotAllowed(['POST']));

  payments.get('/balance/:bill_id', async (c) => {
    const billId = requireUuid(c.req.param('bill_id'), 'bill_id');
    const account = await findAccount(db, billId);
    if (!account) throw new HttpError(404, 'ACCOUNT_NOT_FOUND', `no wallet ${billId}`);
    return c.json(toWalletJson(account));
  });
  payments.all('/balance/:bill_id', methodNotAllowed(['GET', 'HEAD']));

  return payments;
}
