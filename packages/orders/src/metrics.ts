// The orders domain's metrics (docs/ARCHITECTURE.md, "Metrics"): orders placed by
// orders-api, orders settled by orders-relay, and how long each took.
import { PAYMENT_SUCCEEDED } from '@gozon/contracts';
import { prometheus } from '@gozon/platform';
import type { SettledOrder } from './apply-payment-result.ts';

export const ordersPlaced = new prometheus.Counter({
  name: 'gozon_orders_placed_total',
  help: 'Orders placed (committed NEW; a replayed Idempotency-Key places none)',
});

const ordersSettled = new prometheus.Counter({
  name: 'gozon_orders_settled_total',
  help: 'Orders moved from NEW to their final status, by outcome (finished, cancelled) and cancel reason ("" when finished)',
  labelNames: ['outcome', 'reason'],
});

const orderSettleSeconds = new prometheus.Histogram({
  name: 'gozon_order_settle_seconds',
  help: 'From an order being placed (created_at) to its final status committed, as orders-relay sees it',
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
});

/** Counts orders whose final status has just committed, `now` being when (ms since the epoch). */
export function countSettled(settled: Iterable<SettledOrder>, now = Date.now()): void {
  for (const { result, createdAt } of settled) {
    const finished = result.type === PAYMENT_SUCCEEDED;
    ordersSettled.inc({ outcome: finished ? 'finished' : 'cancelled', reason: finished ? '' : result.reason });
    orderSettleSeconds.observe(Math.max(0, now - createdAt.getTime()) / 1000);
  }
}
