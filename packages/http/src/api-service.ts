import { Hono } from 'hono';
import type { Kysely } from 'kysely';
import {
  commonSettings,
  createDb,
  createLogger,
  createPool,
  databaseSettings,
  exitOnSignal,
  integer,
  logFatalErrors,
  readConfig,
  startMetrics,
  startRetention,
  startTracing,
  tracingSettings,
  watchPool,
  type Closer,
  type Config,
  type Logger,
} from '@gozon/platform';
import { limitBody } from './body-limit.ts';
import { healthRoutes, type HealthCheck } from './health.ts';
import { measureRequests, metricsRoutes } from './metrics.ts';
import { traceRequests } from './trace-requests.ts';
import { errorBody, errorHandler, notFound } from './http-error.ts';
import { requestId } from './request-id.ts';
import { listen } from './serve.ts';
import { purgeExpiredKeys, type IdempotencyTables } from './idempotency.ts';

export const MAX_BODY_BYTES = 16 * 1024;

/** What every HTTP API shares: request ids, metrics, traces, body limit, health, JSON 404, and the one error shape. */
export function createApiApp(logger: Logger, checks: Record<string, HealthCheck>): Hono {
  const app = new Hono();
  app.use(requestId());
  app.use(measureRequests());
  app.use(traceRequests());
  app.use(
    limitBody(MAX_BODY_BYTES, (c) =>
      c.json(errorBody(c, 'PAYLOAD_TOO_LARGE', `request body must be at most ${MAX_BODY_BYTES} bytes`), 413),
    ),
  );
  app.route('/health', healthRoutes(checks));
  app.route('/metrics', metricsRoutes());
  app.notFound(notFound);
  app.onError(errorHandler(logger));
  return app;
}

/** An API's settings; by default it reaches `database` on this machine as `role`, its own. */
export function apiSettings(database: string, port: number, role: string) {
  return {
    ...commonSettings,
    // Each request is a short transaction of its own; more connections than a
    // worker's let commits group (measured: 702 → 800 orders/s from 8 to 24).
    ...databaseSettings(database, 24, role),
    ...tracingSettings,
    PORT: integer(port, 'HTTP port', { min: 0, max: 65535 }),
    IDEMPOTENCY_PURGE_INTERVAL_MS: integer(600000, 'wait between purges of the Idempotency-Keys past their 24 h', {
      min: 1000,
      max: 86400000,
    }),
  };
}

/** The whole life of a stateless API: config, pool, app, listen, the Idempotency-Key purge, graceful stop. */
export async function runApiService<DB extends IdempotencyTables, S extends ReturnType<typeof apiSettings>>(options: {
  service: string;
  settings: S;
  /** `defer` registers what the app holds open (its streams) to close once the server takes no more connections. */
  createApp: (deps: { db: Kysely<DB>; logger: Logger; config: Config<S>; defer: (closer: Closer) => void }) => Hono;
}): Promise<void> {
  const serviceConfig = readConfig(options.settings);
  // S extends the shared settings, so these are there; TypeScript cannot see through Config<S> to tell.
  const config = serviceConfig as unknown as Config<ReturnType<typeof apiSettings>>;
  const logger = createLogger(options.service, config.LOG_LEVEL);
  logFatalErrors(logger);
  startMetrics(options.service);
  const shutdown = exitOnSignal(logger, config.SHUTDOWN_TIMEOUT_MS);
  const stopTracing = await startTracing(options.service, config, (error) =>
    logger.warn('tracing.flush_failed', { error }),
  );
  if (stopTracing) shutdown.defer(stopTracing);
  const pool = createPool(config, (error) => logger.warn('db.connection_lost', { error }), options.service);
  watchPool(pool);
  const db = createDb<DB>(pool);
  shutdown.defer(() => db.destroy());
  const appClosers: Closer[] = [];
  const app = options.createApp({ db, logger, config: serviceConfig, defer: (closer) => appClosers.push(closer) });
  const server = await listen(app, config.PORT);
  shutdown.defer(async () => {
    const closed = server.close();
    // server.close() waits for every connection to end, and a stream never ends by itself.
    for (const close of appClosers.reverse()) await close();
    await closed;
  });
  // Every replica purges; each skips the keys another one's purge holds.
  const retention = startRetention(
    [
      {
        table: 'idempotency_key',
        intervalMs: config.IDEMPOTENCY_PURGE_INTERVAL_MS,
        deleteChunk: (limit) => purgeExpiredKeys(db, limit),
      },
    ],
    logger,
  );
  shutdown.defer(() => retention.stop());
  logger.info('api.started', { port: server.port });
}
