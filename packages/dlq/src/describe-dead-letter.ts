import type { GetMessage, MessagePropertyHeaders } from 'amqplib';
import type { DeadLetterQueue } from './dead-letter-queues.ts';
import { previewOf } from './preview.ts';

/** A message in a dead-letter queue, as an operator needs to see it. */
export interface DeadLetter {
  /** The dead-letter queue it is in. */
  queue: string;
  /** The queue it was dead-lettered from. */
  originalQueue: string;
  messageId: string | undefined;
  /** The routing key it was first published with; replay publishes with it again. */
  routingKey: string;
  /** `x-error` when a consumer gave up on it, or the broker's reason (e.g. delivery_limit). */
  error: string;
  /** 'consumer' (sendToDeadLetters) or 'broker' (the queue's own dead-lettering, x-death). */
  source: 'consumer' | 'broker';
  /** ISO 8601, when known. */
  deadLetteredAt: string | undefined;
  /** Size of the body in bytes. */
  size: number;
  /** The start of the body, on one line. */
  preview: string;
}

interface XDeath {
  queue?: unknown;
  reason?: unknown;
  time?: unknown;
  'routing-keys'?: unknown;
}

function firstXDeath(headers: MessagePropertyHeaders): XDeath | undefined {
  const deaths = headers['x-death'];
  return Array.isArray(deaths) && deaths.length > 0 ? deaths[0] : undefined;
}

/** An AMQP timestamp as amqplib decodes it in a table: { '!': 'timestamp', value: seconds }. */
function timestampToIso(value: unknown): string | undefined {
  const seconds = typeof value === 'object' && value !== null && 'value' in value ? value.value : value;
  return typeof seconds === 'number' && Number.isFinite(seconds) ? new Date(seconds * 1000).toISOString() : undefined;
}

function asString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString();
  return undefined;
}

/**
 * What a message taken from `dlq` is, read from the headers of whoever dead-lettered
 * it: the consumer's (x-error, x-original-*) or the broker's (x-death, x-first-death-*).
 */
export function describeDeadLetter(dlq: DeadLetterQueue, message: GetMessage): DeadLetter {
  const headers = message.properties.headers ?? {};
  const death = firstXDeath(headers);
  const xError = asString(headers['x-error']);
  const deathReason = asString(headers['x-first-death-reason']) ?? asString(death?.reason);
  const deathRoutingKeys = Array.isArray(death?.['routing-keys']) ? (death['routing-keys'] as unknown[]) : [];
  return {
    queue: dlq.name,
    originalQueue:
      asString(headers['x-original-queue']) ??
      asString(headers['x-first-death-queue']) ??
      asString(death?.queue) ??
      dlq.mainQueue,
    messageId: asString(message.properties.messageId),
    // Without either header (a message put there by hand) the DLQ's own subscription says which type it is.
    routingKey: asString(headers['x-original-routing-key']) ?? asString(deathRoutingKeys[0]) ?? dlq.subscription.type,
    error:
      xError ??
      (deathReason ? `dead-lettered by the broker: ${deathReason}` : 'unknown (no x-error or x-death header)'),
    source: xError === undefined && death !== undefined ? 'broker' : 'consumer',
    deadLetteredAt: asString(headers['x-dead-lettered-at']) ?? timestampToIso(death?.time),
    size: message.content.length,
    preview: previewOf(message.content),
  };
}
