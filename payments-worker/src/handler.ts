import {
  PAYMENT_REQUESTED,
  parsePaymentRequested,
  MalformedMessageError,
  type PaymentRequested,
} from '@gozon/contracts';
import type { InboxHandler } from '@gozon/messaging';
import type { Logger } from '@gozon/platform';
import { payForOrders, type PaymentsDb } from '@gozon/payments';

export function paymentRequestHandler(logger: Logger): InboxHandler<PaymentsDb, PaymentRequested> {
  return {
    parse(type, body) {
      if (type !== PAYMENT_REQUESTED)
        throw new MalformedMessageError(`unexpected message type ${JSON.stringify(type)}`);
      return parsePaymentRequested(body);
    },
    async apply(db, batch) {
      const { fresh, decided } = await payForOrders(db, batch);
      for (const { orderId, decision } of decided) {
        if (decision.outcome === 'ALREADY_DECIDED') logger.warn('payment.already_decided', { order_id: orderId });
        else logger.debug('payment.decided', { order_id: orderId, ...decision });
      }
      return fresh;
    },
  };
}
