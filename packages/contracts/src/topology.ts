import { PAYMENT_FAILED, PAYMENT_REQUESTED, PAYMENT_SUCCEEDED, type MessageType } from './messages.ts';

// One durable exchange, routing key = message type, one queue per consumer and type.
// Every process declares the whole topology, so a message published before its
// consumer ever started still has a queue to land in.

export const EXCHANGE = 'gozon';

export interface Subscription {
  consumer: string;
  type: MessageType;
}

export const SUBSCRIPTIONS: readonly Subscription[] = [
  { consumer: 'payments-worker', type: PAYMENT_REQUESTED },
  { consumer: 'orders-relay', type: PAYMENT_SUCCEEDED },
  { consumer: 'orders-relay', type: PAYMENT_FAILED },
];

/** Names are prefixed by a namespace so that test suites never share a queue. */
export function exchangeName(namespace: string): string {
  return `${namespace}${EXCHANGE}`;
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
