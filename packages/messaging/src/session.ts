import type { Kysely } from 'kysely';
import { exchangeName, queueName, subscriptionsOf } from '@gozon/contracts';
import { createListenClient, type Faults, type Logger } from '@gozon/runtime';
import { connectAmqp, declareTopology } from './amqp.ts';
import { startInboxConsumer, type IncomingMessage, type InboxHandler } from './consumer.ts';
import { startOutboxRelay, type Stoppable } from './relay.ts';
import { messagingView, type MessagingTables } from './schema.ts';
import { purgeReceived } from './inbox.ts';
import { startPurging } from './purge.ts';

export interface SessionOptions<DB extends MessagingTables, M extends IncomingMessage> {
  service: string;
  databaseUrl: string;
  amqpUrl: string;
  namespace: string;
  db: Kysely<DB>;
  handler: InboxHandler<DB, M>;
  outbox: { batchSize: number; lingerMs: number; pollIntervalMs: number; retentionSeconds: number };
  inbox: { batchSize: number; concurrency: number; lingerMs: number; retries: number; retentionHours: number };
  logger: Logger;
  faults: Faults;
}

export interface Session {
  /** Settles when a connection the session depends on is lost. */
  lost: Promise<unknown>;
  /** Stops taking work, finishes what is in hand where it still can, and closes the connections. */
  stop(): Promise<void>;
}

/**
 * One life of a worker's connections: the LISTEN connection to PostgreSQL and
 * the AMQP connection with its channels, the topology declared, the outbox
 * relay and a consumer per queue running on them. When either connection
 * drops, `lost` settles and the supervisor starts a new session. The pool is
 * not part of it: pg replaces broken pooled connections by itself.
 */
export async function startSession<DB extends MessagingTables, M extends IncomingMessage>(options: SessionOptions<DB, M>): Promise<Session> {
  const { logger } = options;
  const closers: Array<() => Promise<unknown>> = [];
  let stopping = false;
  let markLost: (reason: unknown) => void = () => {};
  const lost = new Promise<unknown>((resolve) => (markLost = resolve));
  const onLost = (what: string) => (reason?: unknown) => {
    if (!stopping) markLost(reason ?? new Error(`${what} closed`));
  };
  const closeQuietly = async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
  };

  try {
    const listener = createListenClient(options.databaseUrl, options.service);
    listener.on('error', onLost('PostgreSQL LISTEN connection'));
    listener.on('end', onLost('PostgreSQL LISTEN connection'));
    await listener.connect();
    closers.push(() => listener.end());

    const connection = await connectAmqp(options.amqpUrl, `${options.namespace}${options.service}`);
    connection.on('error', (error) => logger.warn('amqp.connection_error', { error }));
    connection.on('close', onLost('AMQP connection'));
    closers.push(() => connection.close());

    const setup = await connection.createChannel();
    await declareTopology(setup, options.namespace);
    await setup.close();

    const relayChannel = await connection.createConfirmChannel();
    relayChannel.on('close', onLost('AMQP relay channel'));
    relayChannel.on('error', (error) => logger.warn('amqp.channel_error', { error }));
    closers.push(() => relayChannel.close());
    const relay = await startOutboxRelay({
      db: messagingView(options.db),
      listener,
      channel: relayChannel,
      exchange: exchangeName(options.namespace),
      ...options.outbox,
      logger,
      faults: options.faults,
    });
    closers.push(() => relay.stop());

    const consumers: Stoppable[] = [];
    for (const subscription of subscriptionsOf(options.service)) {
      const channel = await connection.createConfirmChannel();
      channel.on('close', onLost('AMQP consumer channel'));
      channel.on('error', (error) => logger.warn('amqp.channel_error', { error }));
      closers.push(() => channel.close());
      await channel.prefetch(options.inbox.batchSize * options.inbox.concurrency * 2);
      consumers.push(
        await startInboxConsumer({
          db: options.db,
          channel,
          queue: queueName(options.namespace, subscription),
          handler: options.handler,
          ...options.inbox,
          logger,
          faults: options.faults,
        }),
      );
    }
    // Stop taking messages first, on every queue at once, and finish the batches in hand.
    closers.push(() => Promise.all(consumers.map((consumer) => consumer.stop())));
    const inboxPurge = startPurging({
      table: 'inbox_message',
      deleteChunk: (limit) => purgeReceived(messagingView(options.db), options.inbox.retentionHours, limit),
      intervalMs: 10_000,
      logger,
    });
    closers.push(() => inboxPurge.stop());
  } catch (error) {
    stopping = true;
    await closeQuietly();
    throw error;
  }

  return {
    lost,
    async stop() {
      stopping = true;
      await closeQuietly();
    },
  };
}
