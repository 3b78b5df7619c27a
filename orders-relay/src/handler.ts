import { parsePaymentResult, type PaymentResult } from '@gozon/contracts';
import type { InboxHandler } from '@gozon/messaging';
import type { Logger } from '@gozon/runtime';
import { applyPaymentResult, type OrdersDb } from '@gozon/orders';

export function paymentResultHandler(logger: Logger): InboxHandler<OrdersDb, PaymentResult> {
  return {
    parse: parsePaymentResult,
    lockKey: (result) => result.order_id,
    async apply(trx, result) {
      const applied = await applyPaymentResult(trx, result);
      if (applied) logger.debug('order.payment_applied', { order_id: result.order_id, message_id: result.message_id, type: result.type });
      else logger.warn('order.payment_result_ignored', { order_id: result.order_id, message_id: result.message_id, reason: 'order is not NEW' });
      return [];
    },
  };
}
