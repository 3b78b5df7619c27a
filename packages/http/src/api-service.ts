import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Kysely } from 'kysely';
import { commonSettings, createDb, createLogger, createPool, databaseSettings, exitOnSignal, integer, logFatalErrors, readConfig, type Config, type Logger } from '@gozon/platform';
import { healthRoutes, type HealthCheck } from './health.ts';
import { errorBody, errorHandler, notFound } from './http-error.ts';
import { listen } from './serve.ts';
import { purgeExpiredKeys, type IdempotencyTables } from './idempotency.ts';

export const MAX_BODY_BYTES = 16 * 1024;
const PURGE_INTERVAL_MS = 10 * 60 * 1000;

/** What every HTTP API shares: body limit, health, JSON 404, and the one error shape. */
export function createApiApp(logger: Logger, checks: Record<string, HealthCheck>): Hono {
  const app = new Hono();
  app.use(
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => c.json(errorBody('PAYLOAD_TOO_LARGE', `request body must be at most ${MAX_BODY_BYTES} bytes`), 413),
    }),
  );
  app.route('/health', healthRoutes(checks));
  app.notFound(notFound);
  app.onError(errorHandler(logger));
  return app;
}

export function apiSettings(database: string, port: number) {
  return {
    ...commonSettings,
    // Each request is a short transaction of its own; more connections than a
    // worker's let commits group (measured: 702 → 800 orders/s from 8 to 24).
    ...databaseSettings(database, 24),
    PORT: integer(port, 'HTTP port', { min: 0, max: 65535 }),
  };
}

/** The whole life of a stateless API: config, pool, app, listen, graceful stop. */
export async function runApiService<DB extends IdempotencyTables, S extends ReturnType<typeof apiSettings>>(options: {
  service: string;
  settings: S;
  createApp: (deps: { db: Kysely<DB>; logger: Logger; config: Config<S> }) => Hono;
}): Promise<void> {
  const serviceConfig = readConfig(options.settings);
  // S extends the shared settings, so these are there; TypeScript cannot see through Config<S> to tell.
  const config = serviceConfig as unknown as Config<ReturnType<typeof apiSettings>>;
  const logger = createLogger(options.service, config.LOG_LEVEL);
  logFatalErrors(logger);
  const shutdown = exitOnSignal(logger, config.SHUTDOWN_TIMEOUT_MS);
  const pool = createPool(config, (error) => logger.warn('db.connection_lost', { error }), options.service);
  const db = createDb<DB>(pool);
  shutdown.defer(() => db.destroy());
  const server = await listen(options.createApp({ db, logger, config: serviceConfig }), config.PORT);
  shutdown.defer(() => server.close());
  // Every replica purges; the deletes are idempotent and cheap on the created_at index.
  const purge = setInterval(() => {
    purgeExpiredKeys(db)
      .then((purged) => purged > 0 && logger.info('idempotency.keys_purged', { count: purged }))
      .catch((error) => logger.warn('idempotency.purge_failed', { error }));
  }, PURGE_INTERVAL_MS);
  purge.unref();
  shutdown.defer(() => clearInterval(purge));
  logger.info('api.started', { port: server.port });
}
