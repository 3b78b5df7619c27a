import type { Hono } from 'hono';
import type { Kysely } from 'kysely';
import { createApiApp, pingDb, type Logger } from '@gozon/runtime';
import type { OrdersDb } from '@gozon/orders';
import { ordersRoutes } from './orders-routes.ts';

export function createApp(deps: { db: Kysely<OrdersDb>; logger: Logger }): Hono {
  const app = createApiApp(deps.logger, { database: () => pingDb(deps.db) });
  app.route('/orders', ordersRoutes(deps));
  return app;
}
