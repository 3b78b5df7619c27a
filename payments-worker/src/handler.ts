import { PAYMENT_REQUESTED, parsePaymentRequested, MalformedMessageError, type PaymentRequested } from '@gozon/contracts';
import type { InboxHandler } from '@gozon/messaging';
import type { Logger } from '@gozon/runtime';
import { payForOrder, type PaymentsDb } from '@gozon/payments';

export function paymentRequestHandler(logger: Logger): InboxHandler<PaymentsDb, PaymentRequested> {
  return {
    parse(type, body) {
      if (type !== PAYMENT_REQUESTED) throw new MalformedMessageError(`unexpected message type ${JSON.stringify(type)}`);
      return parsePaymentRequested(body);
    },
    lockKey: (request) => request.user_id,
    async apply(trx, request, { traceparent }) {
      const { decision, result } = await payForOrder(trx, request, traceparent);
      const fields = { order_id: request.order_id, message_id: request.message_id, ...decision };
      if (decision.outcome === 'ALREADY_DECIDED') logger.warn('payment.already_decided', fields);
      else logger.debug('payment.decided', fields);
      return result ? [result] : [];
    },
  };
}
