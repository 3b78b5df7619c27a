import type { Hono } from 'hono';
import type { Kysely } from 'kysely';
import { createApiApp } from '@gozon/http';
import { pingDb, type Config, type Logger } from '@gozon/platform';
import type { OrdersDb } from '@gozon/orders';
import type { OrderChanges } from './order-change-feed.ts';
import { orderEventsRoutes } from './order-events-routes.ts';
import { ordersRoutes } from './orders-routes.ts';
import type { settings } from './settings.ts';

export type OrdersApiConfig = Pick<
  Config<typeof settings>,
  | 'ORDER_BATCH_SIZE'
  | 'ORDER_INSERTS_IN_FLIGHT'
  | 'DB_CONNECTION_TIMEOUT_MS'
  | 'ORDER_STREAMS_MAX'
  | 'ORDER_STREAM_HEARTBEAT_MS'
  | 'ORDER_STREAM_QUEUE_MAX'
  | 'ORDER_EVENTS_LOOKBACK_MS'
>;

/**
 * orders-api's routes over its dependencies. `changes` feeds the event streams
 * (order-change-feed.ts); without it /orders/events is not served, as in tests
 * of the other routes.
 */
export function createApp(deps: {
  db: Kysely<OrdersDb>;
  logger: Logger;
  config: OrdersApiConfig;
  changes?: OrderChanges;
}): Hono {
  const { changes } = deps;
  const app = createApiApp(deps.logger, {
    database: () => pingDb(deps.db),
    ...(changes && { order_changes: () => heard(changes) }),
  });
  if (changes) app.route('/orders/events', orderEventsRoutes({ ...deps, changes }));
  app.route('/orders', ordersRoutes(deps));
  return app;
}

async function heard(changes: OrderChanges): Promise<void> {
  const problem = changes.problem();
  if (problem !== null) throw new Error(problem);
}
