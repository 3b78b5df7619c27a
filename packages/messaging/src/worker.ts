import { Hono } from 'hono';
import pRetry from 'p-retry';
import pTimeout from 'p-timeout';
import { healthRoutes, listen, metricsRoutes, watchReadiness } from '@gozon/http';
import {
  amqpSettings,
  armFaultPoints,
  commonSettings,
  createDb,
  createLogger,
  createPool,
  databaseSettings,
  exitForRestart,
  exitOnSignal,
  faultPointSettings,
  integer,
  listenPingSetting,
  logFatalErrors,
  pingDb,
  readConfig,
  startMetrics,
  startRetention,
  startTracing,
  tracingSettings,
  url,
  watchPool,
  type Config,
  type Logger,
} from '@gozon/platform';
import { BROKER_USERS, LOCAL_BROKER_URL, amqpUrlAs } from './broker-users.ts';
import { brokerPasswordSettings, brokerPasswordVariable } from './broker-setup.ts';
import type { IncomingMessage, InboxHandler } from './consumer.ts';
import { purgeReceived } from './inbox.ts';
import { watchBroker, watchOutbox } from './metrics.ts';
import { purgeSent } from './outbox.ts';
import { messagingView, type MessagingTables } from './schema.ts';
import { startSession, type Session } from './session.ts';

/** A worker's settings; by default it reaches `database` on this machine as `role` and the broker as its own user. */
export function workerSettings(database: string, service: 'orders-relay' | 'payments-worker', role: string) {
  return {
    ...commonSettings,
    ...databaseSettings(database, 8, role),
    ...amqpSettings,
    AMQP_URL: url(
      amqpUrlAs(
        LOCAL_BROKER_URL,
        BROKER_USERS[service],
        brokerPasswordSettings[brokerPasswordVariable(service)]!.default!,
      ),
      'RabbitMQ, as this service’s own user, and the vhost',
      ['amqp:', 'amqps:'],
    ),
    ...faultPointSettings,
    ...tracingSettings,
    HEALTH_PORT: integer(9000, 'port of /health/live and /health/ready', { min: 0, max: 65535 }),
    OUTBOX_BATCH_SIZE: integer(500, 'outbox rows claimed and published per batch', { min: 1, max: 10000 }),
    OUTBOX_LINGER_MS: integer(
      30,
      'after a batch that was not full, most a relay lets new rows gather (1 ms per row of that batch)',
      { min: 0, max: 1000 },
    ),
    OUTBOX_POLL_INTERVAL_MS: integer(1000, 'fallback poll when no NOTIFY arrives', { min: 10, max: 60000 }),
    OUTBOX_RETENTION_SECONDS: integer(60, 'how long sent outbox rows are kept before they are purged', {
      min: 0,
      max: 604800,
    }),
    OUTBOX_PURGE_INTERVAL_MS: integer(1000, 'wait between purges of the sent outbox rows past their retention', {
      min: 10,
      max: 3600000,
    }),
    INBOX_BATCH_SIZE: integer(100, 'messages applied per inbox transaction', { min: 1, max: 1000 }),
    // One: a batch is one call (docs/ARCHITECTURE.md, "One call per inbox batch"), and what arrives while it
    // runs makes the next batch. A second slot split the batches: at the maximum with two replicas per
    // worker 1,487 / 977 completed/s against 1,805 / 1,502 with one (docs/performance.md).
    INBOX_CONCURRENCY: integer(1, 'inbox transactions in flight per queue, per process', { min: 1, max: 64 }),
    INBOX_LINGER_MS: integer(
      30,
      'after a batch that was not full, most a consumer lets new messages gather (1 ms per message of that batch)',
      { min: 0, max: 1000 },
    ),
    WAKEUP_COALESCING_MS: integer(
      0,
      'after a batch that was not full, the process stops watching its input this long (one nap at a time, at most half the time) so that what arrives meanwhile wakes it once: less CPU at moderate rates (measured at 250 orders/s), for several naps of latency per order; the lingers above apply only between naps (0: off)',
      { min: 0, max: 50 },
    ),
    INBOX_RETENTION_HOURS: integer(168, 'how long a received message id is remembered against duplicates', {
      min: 1,
      max: 87600,
    }),
    INBOX_PURGE_INTERVAL_MS: integer(10000, 'wait between purges of the received message ids past their retention', {
      min: 10,
      max: 3600000,
    }),
    INBOX_MAX_ATTEMPTS: integer(
      5,
      'attempts at a redelivered message whose consumer died during each before it is dead-lettered as poison',
      { min: 1, max: 15 },
    ),
    OUTBOX_CONFIRM_TIMEOUT_MS: integer(
      10000,
      'most a batch waits for publisher confirms before its rows are freed and the channel replaced',
      { min: 100, max: 120000 },
    ),
    OUTBOX_MAX_ATTEMPTS: integer(
      5,
      'failed publishes of one outbox row (unroutable, oversize, unencodable) before it is set aside',
      { min: 1, max: 100 },
    ),
    LISTEN_PING_MS: listenPingSetting,
    AMQP_STEP_TIMEOUT_MS: integer(5000, 'most one step of connecting, declaring, cancelling or closing may take', {
      min: 100,
      max: 120000,
    }),
    UNREADY_LIMIT_SECONDS: integer(
      120,
      'after this long not ready, /health/live fails and the process exits 1 for its orchestrator to restart it',
      { min: 5, max: 86400 },
    ),
  };
}

/**
 * The whole life of a messaging process: relay this domain's outbox to the
 * broker, consume this service's queues through the inbox, purge both tables
 * of what is past its retention, report health, and stop cleanly on SIGTERM. When RabbitMQ or PostgreSQL goes away it reports
 * not-ready, reconnects with bounded backoff, re-declares its topology and
 * resumes, without a restart. A worker's main only names itself and its handler.
 */
export async function runMessagingWorker<
  DB extends MessagingTables,
  M extends IncomingMessage,
  S extends ReturnType<typeof workerSettings>,
>(options: {
  service: string;
  /** workerSettings(…), with any settings of the service's own handler. */
  settings: S;
  createHandler: (logger: Logger, config: Config<S>) => InboxHandler<DB, M>;
}): Promise<void> {
  const ownConfig = readConfig(options.settings);
  // S holds every worker setting, so its config has every worker value; TypeScript cannot resolve Config<S> for a generic S.
  const config = ownConfig as unknown as Config<ReturnType<typeof workerSettings>>;
  const logger = createLogger(options.service, config.LOG_LEVEL);
  armFaultPoints(config.GOZON_FAULTS);
  logFatalErrors(logger);
  startMetrics(options.service);
  const shutdown = exitOnSignal(logger, config.SHUTDOWN_TIMEOUT_MS);
  const stopTracing = await startTracing(options.service, config, (error) =>
    logger.warn('tracing.flush_failed', { error }),
  );
  if (stopTracing) shutdown.defer(stopTracing);

  const pool = createPool(config, (error) => logger.warn('db.connection_lost', { error }), options.service);
  const db = createDb<DB>(pool);
  shutdown.defer(() => pool.end());
  watchPool(pool);
  watchOutbox(messagingView(db));

  // Every replica purges; each skips the rows another one's purge holds.
  const messaging = messagingView(db);
  const retention = startRetention(
    [
      {
        table: 'outbox_message',
        intervalMs: config.OUTBOX_PURGE_INTERVAL_MS,
        deleteChunk: (limit) => purgeSent(messaging, config.OUTBOX_RETENTION_SECONDS, limit),
      },
      {
        table: 'inbox_message',
        intervalMs: config.INBOX_PURGE_INTERVAL_MS,
        deleteChunk: (limit) => purgeReceived(messaging, config.INBOX_RETENTION_HOURS, limit),
      },
    ],
    logger,
  );
  shutdown.defer(() => retention.stop());

  let session: Session | undefined;
  const problems = new Map<string, string>();
  const readiness = () => {
    if (shutdown.stopping) return 'stopping';
    if (!session) return 'broker: not connected';
    return problems.size > 0 ? [...problems].map(([part, problem]) => `${part}: ${problem}`).join('; ') : null;
  };
  const stopped = new AbortController();
  const handler = options.createHandler(logger, ownConfig);
  const connect = () =>
    startSession({
      service: options.service,
      databaseUrl: config.DATABASE_URL,
      amqpUrl: config.AMQP_URL,
      namespace: config.AMQP_NAMESPACE,
      db,
      handler,
      outbox: {
        batchSize: config.OUTBOX_BATCH_SIZE,
        lingerMs: config.OUTBOX_LINGER_MS,
        pollIntervalMs: config.OUTBOX_POLL_INTERVAL_MS,
        confirmTimeoutMs: config.OUTBOX_CONFIRM_TIMEOUT_MS,
        maxAttempts: config.OUTBOX_MAX_ATTEMPTS,
      },
      inbox: {
        batchSize: config.INBOX_BATCH_SIZE,
        concurrency: config.INBOX_CONCURRENCY,
        lingerMs: config.INBOX_LINGER_MS,
        maxAttempts: config.INBOX_MAX_ATTEMPTS,
      },
      napMs: config.WAKEUP_COALESCING_MS,
      stepTimeoutMs: config.AMQP_STEP_TIMEOUT_MS,
      listenPing: { intervalMs: config.LISTEN_PING_MS, timeoutMs: config.DB_CONNECTION_TIMEOUT_MS },
      report: (part, problem) => (problem === null ? problems.delete(part) : problems.set(part, problem)),
      logger,
    });

  // A session that stops is closed step by step, each bounded; all of it past this is a wedge.
  const sessionStopLimitMs = config.AMQP_STEP_TIMEOUT_MS * 8;
  const supervise = (async () => {
    while (!stopped.signal.aborted) {
      try {
        session = await pRetry(connect, {
          retries: Number.POSITIVE_INFINITY,
          randomize: true,
          minTimeout: 250,
          maxTimeout: 5000,
          signal: stopped.signal,
          onFailedAttempt: ({ error, attemptNumber }) =>
            logger.warn('worker.connect_failed', { attempt: attemptNumber, error }),
        });
      } catch {
        return; // aborted: shutting down
      }
      logger.info('worker.connected', { namespace: config.AMQP_NAMESPACE });
      const reason = await Promise.race([
        session.lost,
        new Promise((resolve) => stopped.signal.addEventListener('abort', resolve)),
      ]);
      if (stopped.signal.aborted) return;
      logger.error('worker.connection_lost', { error: reason });
      const ended = session;
      session = undefined;
      problems.clear();
      const closed = await pTimeout(
        ended.stop().then(() => true),
        { milliseconds: sessionStopLimitMs, message: false },
      );
      if (!closed) exitForRestart(logger, 'worker.session_stop_timed_out', { timeout_ms: sessionStopLimitMs });
    }
  })();
  shutdown.defer(async () => {
    stopped.abort();
    await supervise;
    await session?.stop();
  });

  const watchdog = watchReadiness(readiness, config.UNREADY_LIMIT_SECONDS * 1000, (unreadyMs, why) =>
    exitForRestart(logger, 'worker.unready_too_long', { unready_ms: unreadyMs, why }),
  );
  shutdown.defer(() => watchdog.stop());

  watchBroker(() => session !== undefined);
  const health = new Hono().route('/metrics', metricsRoutes()).route(
    '/health',
    healthRoutes(
      {
        database: () => pingDb(db),
        broker: async () => {
          const problem = readiness();
          if (problem) throw new Error(problem);
        },
      },
      () => watchdog.unreadyMs() < config.UNREADY_LIMIT_SECONDS * 1000,
    ),
  );
  const server = await listen(health, config.HEALTH_PORT);
  shutdown.defer(() => server.close());
  logger.info('worker.started', { health_port: server.port, namespace: config.AMQP_NAMESPACE });
}
