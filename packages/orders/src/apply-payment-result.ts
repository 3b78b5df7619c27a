import type { Transaction } from 'kysely';
import { PAYMENT_SUCCEEDED, type PaymentResult } from '@gozon/contracts';
import type { OrdersDb } from './schema.ts';

/**
 * Moves a NEW order to FINISHED or CANCELLED. Final states never change: a result
 * for an order that is no longer NEW (or unknown) updates nothing and says so.
 */
export async function applyPaymentResult(trx: Transaction<OrdersDb>, result: PaymentResult): Promise<boolean> {
  const succeeded = result.type === PAYMENT_SUCCEEDED;
  const updated = await trx
    .updateTable('order')
    .set({
      status: succeeded ? 'FINISHED' : 'CANCELLED',
      cancel_reason: succeeded ? null : result.reason,
      updated_at: new Date(),
    })
    .where('id', '=', result.order_id)
    .where('status', '=', 'NEW')
    .executeTakeFirst();
  return updated.numUpdatedRows > 0n;
}
