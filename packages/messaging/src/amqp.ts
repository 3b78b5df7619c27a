import amqp from 'amqplib';
import { SUBSCRIPTIONS, deadLetterQueueName, exchangeName, queueName } from '@gozon/contracts';

export type AmqpConnection = amqp.ChannelModel;
export type ConfirmChannel = amqp.ConfirmChannel;
export type Delivery = amqp.ConsumeMessage;

// After this many deliveries RabbitMQ itself dead-letters a message (a quorum
// queue counts them), so a message that crashes its consumer cannot loop forever.
const DELIVERY_LIMIT = 20;

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
  const socket = (channel as unknown as { connection: { stream: { cork(): void; uncork(): void } } }).connection.stream;
  socket.cork();
  try {
    return work();
  } finally {
    setImmediate(() => setImmediate(() => socket.uncork()));
  }
}

/** Idempotent; every process declares everything, so no message is published to an exchange with no queue. */
export async function declareTopology(channel: amqp.Channel, namespace: string): Promise<void> {
  const exchange = exchangeName(namespace);
  await channel.assertExchange(exchange, 'direct', { durable: true });
  for (const subscription of SUBSCRIPTIONS) {
    const queue = queueName(namespace, subscription);
    const deadLetters = deadLetterQueueName(queue);
    await channel.assertQueue(deadLetters, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await channel.assertQueue(queue, {
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': deadLetters,
        'x-delivery-limit': DELIVERY_LIMIT,
      },
    });
    await channel.bindQueue(queue, exchange, subscription.type);
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
}
