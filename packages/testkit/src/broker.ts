import amqp from 'amqplib';
import {
  deadLetterExchangeName,
  deadLetterQueueName,
  exchangeName,
  queueName,
  SUBSCRIPTIONS,
  type Subscription,
} from '@gozon/contracts';
import { declareTopology, deleteTopology } from '@gozon/messaging';
import { uniqueSuffix } from './databases.ts';

export const AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

export interface ReceivedMessage {
  messageId: string | undefined;
  routingKey: string;
  body: string;
  headers: Record<string, unknown>;
}

/** An exchange and queues of the test's own, removed by close(). */
export async function createTestBroker(label: string) {
  const namespace = `test.${label}.${uniqueSuffix()}.`;
  const connection = await amqp.connect(AMQP_URL);
  const channel = await connection.createConfirmChannel();
  await declareTopology(connection, namespace);
  const spies: string[] = [];

  const queueOf = (consumer: string, type: string) => {
    const subscription = SUBSCRIPTIONS.find((s) => s.consumer === consumer && s.type === type) as Subscription;
    return queueName(namespace, subscription);
  };

  return {
    namespace,
    exchange: exchangeName(namespace),
    deadLetterExchange: deadLetterExchangeName(namespace),
    queueOf,
    deadLettersOf: (consumer: string, type: string) => deadLetterQueueName(queueOf(consumer, type)),

    /** Publishes straight to the exchange, as a duplicate or a malformed message would arrive. */
    async publish(type: string, body: string | object, messageId?: string) {
      const content = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
      channel.publish(exchangeName(namespace), type, content, {
        persistent: true,
        ...(messageId ? { messageId } : {}),
      });
      await channel.waitForConfirms();
    },

    /** A queue that gets a copy of everything published with this routing key, to count what went over the wire. */
    async spy(type: string) {
      const { queue } = await channel.assertQueue(`${namespace}spy.${type}.${spies.length}`, { exclusive: true });
      await channel.bindQueue(queue, exchangeName(namespace), type);
      spies.push(queue);
      return queue;
    },

    /** Takes every message waiting in a queue (acking them). */
    async drain(queue: string): Promise<ReceivedMessage[]> {
      const messages: ReceivedMessage[] = [];
      for (;;) {
        const message = await channel.get(queue, { noAck: true });
        if (!message) return messages;
        messages.push({
          messageId: message.properties.messageId,
          routingKey: message.fields.routingKey,
          body: message.content.toString(),
          headers: message.properties.headers ?? {},
        });
      }
    },

    async count(queue: string): Promise<number> {
      return (await channel.checkQueue(queue)).messageCount;
    },

    async close() {
      for (const queue of spies) await channel.deleteQueue(queue);
      await deleteTopology(channel, namespace);
      await channel.close();
      await connection.close();
    },
  };
}

export type TestBroker = Awaited<ReturnType<typeof createTestBroker>>;
