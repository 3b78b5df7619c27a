import { deadLetterQueueName } from '@gozon/contracts';
import type { ConfirmChannel, Delivery } from './amqp.ts';

/**
 * Moves a message that can never succeed to its queue's dead-letter queue, with
 * the error that put it there, and resolves once the broker has it. The caller
 * acks the original only then, so the message is never in neither queue. It
 * goes through `deadLetterExchange` (deadLetterExchangeName of the namespace),
 * where each dead-letter queue is bound by its own name.
 */
export async function sendToDeadLetters(
  channel: ConfirmChannel,
  deadLetterExchange: string,
  queue: string,
  delivery: Delivery,
  error: unknown,
): Promise<void> {
  const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  await new Promise<void>((resolve, reject) => {
    channel.publish(
      deadLetterExchange,
      deadLetterQueueName(queue),
      delivery.content,
      {
        ...delivery.properties,
        persistent: true,
        headers: {
          ...delivery.properties.headers,
          'x-error': reason,
          'x-original-queue': queue,
          'x-original-routing-key': delivery.fields.routingKey,
          'x-dead-lettered-at': new Date().toISOString(),
        },
      },
      (failure: Error | null) => (failure ? reject(failure) : resolve()),
    );
  });
}
