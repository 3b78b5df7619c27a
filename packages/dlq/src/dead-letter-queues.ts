import { SUBSCRIPTIONS, deadLetterQueueName, queueName, type Subscription } from '@gozon/contracts';
import { BROKER_USERS, LOCAL_BROKER_URL, amqpUrlAs, brokerPasswordSettings } from '@gozon/messaging';
import { amqpSettings, url } from '@gozon/platform';

/**
 * AMQP_URL and AMQP_NAMESPACE, for readConfig: by default `npm run stack`'s vhost, as the tool's own
 * broker user (packages/messaging/src/broker-users.ts: it reads dead-letter queues and replays, nothing else).
 */
export const dlqAmqpSettings = {
  ...amqpSettings,
  AMQP_URL: url(
    amqpUrlAs(LOCAL_BROKER_URL, BROKER_USERS.dlq, brokerPasswordSettings.DLQ_AMQP_PASSWORD!.default!),
    'RabbitMQ, as the DLQ tool’s user, and the vhost',
    ['amqp:', 'amqps:'],
  ),
};

/** A dead-letter queue with the queue it takes the dead letters of. */
export interface DeadLetterQueue {
  name: string;
  mainQueue: string;
  subscription: Subscription;
}

/** Which dead letters an operation touches: all of them when both are left out. */
export interface DeadLetterSelection {
  /** One dead-letter queue, by its full name. */
  queue?: string | undefined;
  /** Only messages with these message ids. */
  ids?: readonly string[] | undefined;
}

/** A dead-letter queue (or the exchange a replay publishes to) that is not there: most likely AMQP_NAMESPACE is wrong. */
export class DeadLetterQueueMissingError extends Error {
  override name = 'DeadLetterQueueMissingError';
}

/** Every dead-letter queue of a namespace, in the order of SUBSCRIPTIONS. */
export function deadLetterQueues(namespace: string): DeadLetterQueue[] {
  return SUBSCRIPTIONS.map((subscription) => {
    const mainQueue = queueName(namespace, subscription);
    return { name: deadLetterQueueName(mainQueue), mainQueue, subscription };
  });
}

/** The names of every dead-letter queue of a namespace, in the order of SUBSCRIPTIONS. */
export function deadLetterQueuesOf(namespace: string): string[] {
  return deadLetterQueues(namespace).map((dlq) => dlq.name);
}

/** The queues a selection names; throws DeadLetterQueueMissingError when `selection.queue` is not a DLQ of the namespace. */
export function selectQueues(namespace: string, selection: DeadLetterSelection): DeadLetterQueue[] {
  const all = deadLetterQueues(namespace);
  if (selection.queue === undefined) return all;
  const chosen = all.filter((dlq) => dlq.name === selection.queue);
  if (chosen.length === 0) {
    throw new DeadLetterQueueMissingError(
      `${selection.queue} is not a dead-letter queue of namespace '${namespace}'; they are: ${all.map((dlq) => dlq.name).join(', ')}`,
    );
  }
  return chosen;
}
