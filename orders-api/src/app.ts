import type { Hono } from 'hono';
import type { Kysely } from 'kysely';
import { createApiApp } from '@gozon/http';
import { pingDb, type Config, type Logger } from '@gozon/platform';
import type { OrdersDb } from '@gozon/orders';
import { ordersRoutes } from './orders-routes.ts';
import type { settings } from './settings.ts';

export type OrdersApiConfig = Pick<
  Config<typeof settings>,
  'ORDER_BATCH_SIZE' | 'ORDER_INSERTS_IN_FLIGHT' | 'DB_CONNECTION_TIMEOUT_MS'
>;

export function createApp(deps: { db: Kysely<OrdersDb>; logger: Logger; config: OrdersApiConfig }): Hono {
  const app = createApiApp(deps.logger, { database: () => pingDb(deps.db) });
  app.route('/orders', ordersRoutes(deps));
  return app;
}
