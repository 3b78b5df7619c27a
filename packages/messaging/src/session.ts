import type { Kysely } from 'kysely';
import pTimeout from 'p-timeout';
import { deadLetterExchangeName, exchangeName, queueName, subscriptionsOf } from '@gozon/contracts';
import { closeListenClient, createListenClient, untilListenSilent, type Logger, type Stoppable } from '@gozon/platform';
import { connectAmqp, declareTopology, destroyConnection, type AmqpConnection } from './amqp.ts';
import { startInboxConsumer, type IncomingMessage, type InboxHandler } from './consumer.ts';
import { startOutboxRelay } from './relay.ts';
import { messagingView, type MessagingTables } from './schema.ts';

export interface SessionOptions<DB extends MessagingTables, M extends IncomingMessage> {
  service: string;
  databaseUrl: string;
  amqpUrl: string;
  namespace: string;
  db: Kysely<DB>;
  handler: InboxHandler<DB, M>;
  outbox: {
    batchSize: number;
    lingerMs: number;
    pollIntervalMs: number;
    confirmTimeoutMs: number;
    maxAttempts: number;
  };
  inbox: { batchSize: number; concurrency: number; lingerMs: number; maxAttempts: number };
  /** After a batch that was not full, the relay and the consumers block the whole process this long instead of lingering (0: off; see lingerAfter). */
  napMs: number;
  /** Most any one step of starting or stopping the session (connect, declare, cancel, close) may take. */
  stepTimeoutMs: number;
  /** How often the LISTEN connection is pinged, and how long a ping may go unanswered before it counts as lost. */
  listenPing: { intervalMs: number; timeoutMs: number };
  /** Tells readiness what is wrong with a part of the session (a string) or that it is well again (null). */
  report: (part: string, problem: string | null) => void;
  logger: Logger;
}

export interface Session {
  /** Settles when a connection, channel or consumer the session depends on is lost. */
  lost: Promise<unknown>;
  /** Stops taking work, finishes what is in hand where it still can, and closes the connections; each step bounded. */
  stop(): Promise<void>;
}

/** A step that must not wait for ever: rejects with a TimeoutError naming it. */
function bounded<T>(what: string, ms: number, step: Promise<T>): Promise<T> {
  return pTimeout(step, { milliseconds: ms, message: `${what} took longer than ${ms} ms` });
}

/**
 * One life of a worker's connections: the LISTEN connection to PostgreSQL and
 * the AMQP connection with its channels, the topology declared, the outbox
 * relay and a consumer per queue running on them. When a connection or channel
 * drops, a consumer is cancelled by the broker, or publisher confirms stop
 * coming, `lost` settles and the supervisor starts a new session, which
 * declares the topology again. Every step of starting and stopping is bounded,
 * and a connection that will not close (a broker blocked by a resource alarm
 * reads nothing) is destroyed. The pool is not part of it: pg replaces broken
 * pooled connections by itself.
 */
export async function startSession<DB extends MessagingTables, M extends IncomingMessage>(
  options: SessionOptions<DB, M>,
): Promise<Session> {
  const { logger, stepTimeoutMs } = options;
  const closers: Array<{ what: string; close: () => Promise<unknown> }> = [];
  let connection: AmqpConnection | undefined;
  let stopping = false;
  let markLost: (reason: unknown) => void = () => {};
  const lost = new Promise<unknown>((resolve) => (markLost = resolve));
  const loseWith = (reason: unknown) => {
    if (!stopping) markLost(reason);
  };
  const onLost = (what: string) => (reason?: unknown) => loseWith(reason ?? new Error(`${what} closed`));
  const closeAll = async () => {
    for (const { what, close } of closers.reverse()) {
      await bounded(`closing ${what}`, stepTimeoutMs, close()).catch((error: unknown) =>
        logger.warn('session.close_failed', { what, error }),
      );
    }
    // Whatever did not close in time (a blocked broker never answers close) goes with its socket.
    if (connection) destroyConnection(connection);
  };

  try {
    const listener = createListenClient(options.databaseUrl, options.service);
    listener.on('error', onLost('PostgreSQL LISTEN connection'));
    listener.on('end', onLost('PostgreSQL LISTEN connection'));
    const pinging = new AbortController();
    closers.push({
      what: 'LISTEN connection',
      close: () => {
        pinging.abort();
        return closeListenClient(listener, stepTimeoutMs);
      },
    });
    await bounded('connecting to PostgreSQL for LISTEN', stepTimeoutMs, listener.connect());
    // Silence on it would only slow the relay to its poll, unseen: a silent connection ends the session instead.
    void untilListenSilent(listener, { ...options.listenPing, signal: pinging.signal }).then(
      (why) => loseWith(why),
      () => {},
    );

    connection = await bounded(
      'connecting to RabbitMQ',
      stepTimeoutMs,
      connectAmqp(options.amqpUrl, `${options.namespace}${options.service}`),
    );
    const amqp = connection;
    amqp.on('error', (error) => logger.warn('amqp.connection_error', { error }));
    amqp.on('close', onLost('AMQP connection'));
    amqp.on('blocked', (reason) => logger.warn('amqp.connection_blocked', { reason }));
    amqp.on('unblocked', () => logger.info('amqp.connection_unblocked'));
    // Closing the connection closes its channels: one handshake to wait for, not one per channel.
    closers.push({ what: 'AMQP connection', close: () => amqp.close() });

    const redeclareTopology = () =>
      bounded(
        'declaring the topology',
        stepTimeoutMs,
        declareTopology(
          amqp,
          options.namespace,
          (queue, error) => logger.warn('amqp.queue_of_older_version', { queue, error }),
          options.service,
        ),
      );
    await redeclareTopology();

    const relayChannel = await bounded('opening the relay channel', stepTimeoutMs, amqp.createConfirmChannel());
    relayChannel.on('close', onLost('AMQP relay channel'));
    relayChannel.on('error', (error) => logger.warn('amqp.channel_error', { error }));
    const relay = await bounded(
      'starting the outbox relay',
      stepTimeoutMs,
      startOutboxRelay({
        db: messagingView(options.db),
        listener,
        channel: relayChannel,
        exchange: exchangeName(options.namespace),
        ...options.outbox,
        napMs: options.napMs,
        redeclareTopology,
        onChannelLost: loseWith,
        report: (problem) => options.report('outbox', problem),
        logger,
      }),
    );
    closers.push({ what: 'outbox relay', close: () => relay.stop() });

    const consumers: Stoppable[] = [];
    for (const subscription of subscriptionsOf(options.service)) {
      const queue = queueName(options.namespace, subscription);
      const channel = await bounded('opening a consumer channel', stepTimeoutMs, amqp.createConfirmChannel());
      channel.on('close', onLost('AMQP consumer channel'));
      channel.on('error', (error) => logger.warn('amqp.channel_error', { error }));
      await bounded(
        'setting the prefetch',
        stepTimeoutMs,
        channel.prefetch(options.inbox.batchSize * options.inbox.concurrency * 2),
      );
      consumers.push(
        await bounded(
          `consuming ${queue}`,
          stepTimeoutMs,
          startInboxConsumer({
            db: options.db,
            channel,
            queue,
            deadLetterExchange: deadLetterExchangeName(options.namespace),
            handler: options.handler,
            ...options.inbox,
            napMs: options.napMs,
            report: (problem) => options.report(`inbox of ${queue}`, problem),
            onLost: loseWith,
            logger,
          }),
        ),
      );
    }
    // Stop taking messages first, on every queue at once, and finish the batches in hand.
    closers.push({ what: 'inbox consumers', close: () => Promise.all(consumers.map((consumer) => consumer.stop())) });
  } catch (error) {
    stopping = true;
    await closeAll();
    throw error;
  }

  return {
    lost,
    async stop() {
      stopping = true;
      await closeAll();
    },
  };
}
