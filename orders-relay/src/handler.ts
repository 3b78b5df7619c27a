import { parsePaymentResult, type PaymentResult } from '@gozon/contracts';
import type { InboxHandler } from '@gozon/messaging';
import type { Logger } from '@gozon/platform';
import { applyPaymentResults, countSettled, type OrdersDb } from '@gozon/orders';

export function paymentResultHandler(logger: Logger): InboxHandler<OrdersDb, PaymentResult> {
  return {
    parse: parsePaymentResult,
    async apply(trx, batch, afterCommit) {
      const applied = await applyPaymentResults(
        trx,
        batch.map(({ message }) => message),
      );
      afterCommit(() => countSettled(applied.values()));
      for (const { message } of batch) {
        if (applied.has(message.order_id))
          logger.debug('order.payment_applied', {
            order_id: message.order_id,
            message_id: message.message_id,
            type: message.type,
          });
        else
          logger.warn('order.payment_result_ignored', {
            order_id: message.order_id,
            message_id: message.message_id,
            reason: 'order is not NEW',
          });
      }
      return [];
    },
  };
}
