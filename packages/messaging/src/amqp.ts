import type { Duplex } from 'node:stream';
import amqp from 'amqplib';
import { SUBSCRIPTIONS, deadLetterExchangeName, deadLetterQueueName, exchangeName, queueName } from '@gozon/contracts';

export type AmqpConnection = amqp.ChannelModel;
export type ConfirmChannel = amqp.ConfirmChannel;
export type Delivery = amqp.ConsumeMessage;

// After this many deliveries RabbitMQ itself dead-letters a message: the last
// guard against one that kills its consumer before the consumer can count it.
// The consumer counts its own attempts at redelivered messages and
// dead-letters a poison message itself (INBOX_MAX_ATTEMPTS, 5); this limit is
// set where bad luck cannot reach it. The arithmetic: RabbitMQ before 4.3
// counts every return of a message, its consumer's death included (4.3 counts
// only rejects, which the consumer never sends); a transient failure returns
// nothing (it is retried in-process); a poison message causes at most
// INBOX_MAX_ATTEMPTS + 1 = 6 deaths. So an innocent message is returned once
// per death that finds it in hand, and reaches 100 only after 100 such deaths
// (16 poison messages, or a crash loop of minutes: each life of a worker
// takes ~1 s to start). At 20, 21 kills of a worker holding the same
// prefetched messages dead-lettered them all.
export const DELIVERY_LIMIT = 100;

export async function connectAmqp(url: string, name: string): Promise<AmqpConnection> {
  // Without TCP_NODELAY a lone publish or ack waits on the peer's delayed ACK (~40 ms a hop).
  return amqp.connect(url, { noDelay: true, clientProperties: { connection_name: name } });
}

/**
 * Sends the frames that `work` produces in as few socket writes as it can.
 * amqplib queues each frame (a publish, an ack) as an object and writes them
 * one by one from a setImmediate: a syscall per message, which was a third of
 * a worker's CPU, and as many small reads on the broker's side. With the
 * socket corked until that write-out has run, they leave as one writev.
 * The uncork waits two turns of the check phase: amqplib schedules its
 * write-out only once the frames' 'readable' events have fired, after this
 * returns.
 */
export function coalesceFrames<T>(channel: amqp.Channel, work: () => T): T {
  const socket = (channel as unknown as { connection: { stream: Duplex } }).connection.stream;
  socket.cork();
  try {
    return work();
  } finally {
    setImmediate(() => setImmediate(() => socket.uncork()));
  }
}

/**
 * Ends a connection at once, without the closing handshake: what is left when
 * close() did not finish in time (a broker under a resource alarm stops reading
 * from publishing connections, so it never reads our close). Unacked deliveries
 * go back to their queues; unconfirmed publishes count as unsent.
 */
export function destroyConnection(connection: AmqpConnection): void {
  (connection as unknown as { connection: { stream: Duplex } }).connection.stream.destroy();
}

const NOT_FOUND = 404;

/**
 * Declares the exchanges (messages, dead letters), the queues with their
 * dead-letter queues, and the bindings, on channels of its own. Idempotent.
 *
 * Without `consumer` (the setup step, as an administrator) it declares
 * everything. With it (a service, as its own broker user) it declares the
 * exchanges and that consumer's queues with their dead-letter queues, and binds
 * every other main queue that exists: RabbitMQ lets only a user who may read a queue declare it with a
 * dead-letter exchange, and binding needs no more than writing to it. So a
 * publisher re-binds its consumers' queues after their exchange was deleted,
 * and a consumer re-declares its own queue after it was deleted; a queue that
 * is missing waits for its consumer.
 *
 * A queue made by an earlier version with other arguments (delivery limit,
 * dead-letter exchange) is used as it is (RabbitMQ refuses to change them):
 * `onOlderQueue` hears of it, since it dead-letters by its own arguments.
 */
export async function declareTopology(
  connection: AmqpConnection,
  namespace: string,
  onOlderQueue: (queue: string, error: unknown) => void = () => {},
  consumer?: string,
): Promise<void> {
  const exchange = exchangeName(namespace);
  const deadLetterExchange = deadLetterExchangeName(namespace);
  let channel = await connection.createChannel();
  // A refusal closes the channel: the next step goes on a new one.
  const tolerating = async (refused: (error: unknown) => boolean, step: () => Promise<unknown>) => {
    try {
      await step();
      return true;
    } catch (error) {
      if (!refused(error)) throw error;
      channel = await connection.createChannel();
      return false;
    }
  };
  try {
    await channel.assertExchange(exchange, 'topic', { durable: true });
    await channel.assertExchange(deadLetterExchange, 'topic', { durable: true });
    for (const subscription of SUBSCRIPTIONS) {
      const queue = queueName(namespace, subscription);
      const deadLetters = deadLetterQueueName(queue);
      if (consumer === undefined || subscription.consumer === consumer) {
        await channel.assertQueue(deadLetters, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
        const declared = await tolerating(
          (error) =>
            /inequivalent arg 'x-(delivery-limit|dead-letter-exchange|dead-letter-routing-key)'/.test(
              (error as Error).message,
            ),
          () =>
            channel.assertQueue(queue, {
              durable: true,
              arguments: {
                'x-queue-type': 'quorum',
                'x-dead-letter-exchange': deadLetterExchange,
                'x-dead-letter-routing-key': deadLetters,
                'x-delivery-limit': DELIVERY_LIMIT,
              },
            }),
        );
        if (!declared) {
          // The queue is there, as an earlier version made it.
          await channel.checkQueue(queue);
          onOlderQueue(queue, new Error(`${queue} keeps the arguments it was made with`));
        }
      }
      const missing = (error: unknown) => (error as { code?: number }).code === NOT_FOUND;
      // Another consumer's dead-letter queue is that consumer's to bind: its key is its own.
      if (consumer === undefined || subscription.consumer === consumer)
        await channel.bindQueue(deadLetters, deadLetterExchange, deadLetters);
      await tolerating(missing, () => channel.bindQueue(queue, exchange, subscription.type));
    }
  } finally {
    await channel.close().catch(() => {});
  }
}

/** Removes a namespace's exchange and queues; for tests that made their own. */
export async function deleteTopology(channel: amqp.Channel, namespace: string): Promise<void> {
  for (const subscription of SUBSCRIPTIONS) {
    const queue = queueName(namespace, subscription);
    await channel.deleteQueue(queue);
    await channel.deleteQueue(deadLetterQueueName(queue));
  }
  await channel.deleteExchange(exchangeName(namespace));
  await channel.deleteExchange(deadLetterExchangeName(namespace));
}
