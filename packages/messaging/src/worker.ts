import { Hono } from 'hono';
import pRetry from 'p-retry';
import { exchangeName, queueName, subscriptionsOf } from '@gozon/contracts';
import {
  amqpSettings,
  commonSettings,
  createDb,
  createListenClient,
  createLogger,
  createPool,
  databaseSettings,
  exitOnSignal,
  healthRoutes,
  integer,
  listen,
  logFatalErrors,
  parseFaults,
  pingDb,
  readConfig,
  type Logger,
} from '@gozon/runtime';
import { connectAmqp, declareTopology } from './amqp.ts';
import { startInboxConsumer, type IncomingMessage, type InboxHandler } from './consumer.ts';
import type { Stoppable } from './relay.ts';
import { startOutboxRelay } from './relay.ts';
import { messagingView, type MessagingTables } from './schema.ts';

export function workerSettings(database: string) {
  return {
    ...commonSettings,
    ...databaseSettings(database),
    ...amqpSettings,
    HEALTH_PORT: integer(9000, 'port of /health/live and /health/ready', { min: 0, max: 65535 }),
    OUTBOX_BATCH_SIZE: integer(500, 'outbox rows claimed and published per transaction', { min: 1, max: 10000 }),
    OUTBOX_POLL_INTERVAL_MS: integer(1000, 'fallback poll when no NOTIFY arrives', { min: 10, max: 60000 }),
    OUTBOX_RETENTION_SECONDS: integer(60, 'how long sent outbox rows are kept before they are purged', { min: 0, max: 604800 }),
    INBOX_BATCH_SIZE: integer(100, 'messages applied per inbox transaction', { min: 1, max: 1000 }),
    INBOX_CONCURRENCY: integer(2, 'inbox transactions in flight per queue', { min: 1, max: 64 }),
    INBOX_RETRIES: integer(8, 'retries of a transient failure before the message is requeued', { min: 0, max: 30 }),
  };
}

async function connectWithRetry<T>(what: string, logger: Logger, connect: () => Promise<T>): Promise<T> {
  return pRetry(connect, {
    retries: 10,
    minTimeout: 200,
    maxTimeout: 5000,
    onFailedAttempt: ({ error, attemptNumber }) => logger.warn('startup.connect_retrying', { dependency: what, attempt: attemptNumber, error }),
  });
}

/**
 * The whole life of a messaging process: relay this domain's outbox to the
 * broker, consume this service's queues through the inbox, report health, and
 * stop cleanly on SIGTERM. A worker's main only names itself and its handler.
 */
export async function runMessagingWorker<DB extends MessagingTables, M extends IncomingMessage>(options: {
  service: string;
  settings: ReturnType<typeof workerSettings>;
  createHandler: (logger: Logger) => InboxHandler<DB, M>;
}): Promise<void> {
  const config = readConfig(options.settings);
  const logger = createLogger(options.service, config.LOG_LEVEL);
  logFatalErrors(logger);
  const faults = parseFaults(process.env.GOZON_FAULTS);
  const shutdown = exitOnSignal(logger, config.SHUTDOWN_TIMEOUT_MS);

  const pool = createPool(config.DATABASE_URL, config.DB_POOL_SIZE);
  pool.on('error', (error) => logger.warn('db.idle_client_error', { error }));
  const db = createDb<DB>(pool);
  shutdown.defer(() => pool.end());
  const listener = await connectWithRetry('postgresql', logger, async () => {
    const client = createListenClient(config.DATABASE_URL);
    await client.connect();
    return client;
  });
  shutdown.defer(() => listener.end());
  listener.on('error', (error) => {
    // Without its LISTEN connection the relay would only poll; let the orchestrator restart it whole.
    logger.error('db.listener_lost', { error });
    process.exit(1);
  });

  const connection = await connectWithRetry('rabbitmq', logger, () => connectAmqp(config.AMQP_URL, options.service));
  shutdown.defer(() => connection.close());
  connection.on('error', (error) => logger.error('amqp.connection_error', { error }));
  connection.on('close', () => {
    if (shutdown.stopping) return;
    logger.error('amqp.connection_lost');
    process.exit(1);
  });
  const setup = await connection.createChannel();
  await declareTopology(setup, config.AMQP_NAMESPACE);
  await setup.close();

  const relayChannel = await connection.createConfirmChannel();
  shutdown.defer(() => relayChannel.close());
  const relay = await startOutboxRelay({
    db: messagingView(db),
    listener,
    channel: relayChannel,
    exchange: exchangeName(config.AMQP_NAMESPACE),
    batchSize: config.OUTBOX_BATCH_SIZE,
    pollIntervalMs: config.OUTBOX_POLL_INTERVAL_MS,
    retentionSeconds: config.OUTBOX_RETENTION_SECONDS,
    logger,
    faults,
  });
  shutdown.defer(() => relay.stop());

  const consumers: Stoppable[] = [];
  for (const subscription of subscriptionsOf(options.service)) {
    const channel = await connection.createConfirmChannel();
    shutdown.defer(() => channel.close());
    await channel.prefetch(config.INBOX_BATCH_SIZE * config.INBOX_CONCURRENCY * 2);
    consumers.push(
      await startInboxConsumer({
        db,
        channel,
        queue: queueName(config.AMQP_NAMESPACE, subscription),
        handler: options.createHandler(logger),
        batchSize: config.INBOX_BATCH_SIZE,
        concurrency: config.INBOX_CONCURRENCY,
        retries: config.INBOX_RETRIES,
        logger,
        faults,
      }),
    );
  }
  // Stop taking messages first, all queues at once, and finish the batches in hand.
  shutdown.defer(() => Promise.all(consumers.map((consumer) => consumer.stop())));

  const health = new Hono().route(
    '/health',
    healthRoutes({
      database: () => pingDb(db),
      broker: async () => {
        if (shutdown.stopping) throw new Error('shutting down');
      },
    }),
  );
  const server = await listen(health, config.HEALTH_PORT);
  shutdown.defer(() => server.close());
  logger.info('worker.started', { health_port: server.port, namespace: config.AMQP_NAMESPACE });
}
