import { parsePaymentResult, type PaymentResult } from '@gozon/contracts';
import type { InboxHandler } from '@gozon/messaging';
import { traceIdOf, traceSampledOf, type Config, type Logger } from '@gozon/platform';
import type { settings } from './settings.ts';
import { applyPaymentResults, countSettled, type OrdersDb } from '@gozon/orders';

/**
 * Applies payment results to their orders in the inbox transaction (NEW →
 * FINISHED / CANCELLED), counts each settled order once committed, and logs an
 * order that took longer than SLOW_ORDER_MS from placed to settled with the
 * trace_id of its trace, so a slow order leads to where its time went.
 */
export function paymentResultHandler(
  logger: Logger,
  config: Pick<Config<typeof settings>, 'SLOW_ORDER_MS'>,
): InboxHandler<OrdersDb, PaymentResult> {
  return {
    parse: parsePaymentResult,
    async apply(db, batch, afterCommit) {
      const { fresh, moved } = await applyPaymentResults(db, batch);
      afterCommit(() => {
        const now = Date.now();
        countSettled(moved.values(), now);
        for (const [orderId, { createdAt, traceparent }] of moved) {
          const settleMs = now - createdAt.getTime();
          if (settleMs > config.SLOW_ORDER_MS)
            logger.warn('order.settled_slowly', {
              order_id: orderId,
              settle_ms: settleMs,
              trace_id: traceIdOf(traceparent),
              // Only a kept trace is in the backend (OTEL_TRACES_SAMPLER_ARG).
              trace_sampled: traceSampledOf(traceparent),
            });
        }
      });
      for (const { message } of batch.messages) {
        if (!fresh.has(message.message_id)) continue;
        if (moved.get(message.order_id)?.result === message)
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
      return fresh;
    },
  };
}
