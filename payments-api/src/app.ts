import type { Hono } from 'hono';
import type { Kysely } from 'kysely';
import { createApiApp } from '@gozon/http';
import { pingDb, type Logger } from '@gozon/platform';
import type { PaymentsDb } from '@gozon/payments';
import { paymentsRoutes } from './payments-routes.ts';

export function createApp(deps: { db: Kysely<PaymentsDb>; logger: Logger }): Hono {
  const app = createApiApp(deps.logger, { database: () => pingDb(deps.db) });
  app.route('/payments', paymentsRoutes(deps));
  return app;
}
