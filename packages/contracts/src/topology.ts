import { PAYMENT_FAILED, PAYMENT_REQUESTED, PAYMENT_SUCCEEDED, type MessageType } from './messages.ts';

// One durable topic exchange, routing key = message type, one queue per consumer
// and type. Every process declares the whole topology, so a message published
// before its consumer ever started still has a queue to land in. A topic
// exchange, though every binding is an exact type, because RabbitMQ checks a
// user's topic permissions (which routing keys it may publish) on topic
// exchanges only: that is what keeps each service to its own message types.
// Consumers dead-letter through an exchange of their own (a topic exchange too,
// one binding per dead-letter queue, keyed by its name), so that each may write
// into its own dead-letter queues and nowhere else — the default exchange would
// reach every queue.

export const EXCHANGE = 'gozon';
export const DEAD_LETTER_EXCHANGE = 'gozon.dead-letters';

export interface Subscription {
  consumer: string;
  type: MessageType;
}

export const SUBSCRIPTIONS: readonly Subscription[] = [
  { consumer: 'payments-worker', type: PAYMENT_REQUESTED },
  { consumer: 'orders-relay', type: PAYMENT_SUCCEEDED },
  { consumer: 'orders-relay', type: PAYMENT_FAILED },
];

/** Who publishes each message type: the one service allowed to (its broker user's topic permission). */
export const PUBLISHERS: Readonly<Record<MessageType, string>> = {
  [PAYMENT_REQUESTED]: 'orders-relay',
  [PAYMENT_SUCCEEDED]: 'payments-worker',
  [PAYMENT_FAILED]: 'payments-worker',
};

/** Names are prefixed by a namespace so that test suites never share a queue. */
export function exchangeName(namespace: string): string {
  return `${namespace}${EXCHANGE}`;
}

export function deadLetterExchangeName(namespace: string): string {
  return `${namespace}${DEAD_LETTER_EXCHANGE}`;
}

export function queueName(namespace: string, subscription: Subscription): string {
  return `${namespace}${subscription.consumer}.${subscription.type}`;
}

export function deadLetterQueueName(queue: string): string {
  return `${queue}.dlq`;
}

export function subscriptionsOf(consumer: string): Subscription[] {
  return SUBSCRIPTIONS.filter((s) => s.consumer === consumer);
}
