import type { Options } from 'amqplib';
import pTimeout from 'p-timeout';
import { coalesceFrames, type ConfirmChannel } from './amqp.ts';

/** A message to publish: an outbox row, or a dead letter on its way back. */
export interface OutgoingMessage {
  /** Published as its message id; the outcome names it by this. */
  id: string;
  /** The routing key, and the `type` property unless `properties` says otherwise. */
  type: string;
  body: string | Buffer;
  /** W3C trace context, sent in the `traceparent` header unless `properties` says otherwise. */
  traceparent?: string | null;
  /**
   * The message's own properties, published instead of those of a new message
   * (JSON, its type, its traceparent): a replayed dead letter goes out as it was
   * first published. It is persistent and mandatory, with `id` as its message id, either way.
   */
  properties?: Omit<Options.Publish, 'messageId' | 'mandatory' | 'persistent'>;
}

/** Why a message failed on its own account: no queue took it, too large for the broker, or not encodable by the client. */
export type PublishFailureReason = 'unroutable' | 'oversize' | 'unencodable';

/** What became of a batch: the ids the broker took, and those that failed on their own account, with why. */
export interface PublishOutcome {
  confirmed: string[];
  /** `error` says why in words, starting with the reason: what an outbox row records as its last error. */
  failed: Array<{ id: string; reason: PublishFailureReason; error: string }>;
}

// RabbitMQ 4 refuses a message larger than its max_message_size (16 MiB by
// default) by closing the channel, which would fail the whole batch with it:
// such a row is failed here, alone. https://www.rabbitmq.com/docs/configure
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/**
 * Publishes every message with many in flight and resolves once the broker
 * has confirmed all it took, within `timeoutMs`. Mandatory: a message no queue
 * takes comes back (before its confirm) and is reported failed, as is one the
 * client cannot encode or the broker would refuse for its size; the others of
 * the batch are confirmed all the same, so one bad message holds back nothing.
 * Rejects (TimeoutError, a nack, or the channel's close) when the confirms
 * themselves do not all come as acks: the caller must then treat the whole
 * batch as unsent and the channel as lost. The channel must not be shared with another publisher while
 * this runs.
 */
export async function publishConfirmed(
  channel: ConfirmChannel,
  exchange: string,
  messages: OutgoingMessage[],
  timeoutMs: number,
): Promise<PublishOutcome> {
  const failed = new Map<string, { reason: PublishFailureReason; error: string }>();
  const onReturn = (message: { properties: { messageId?: string }; fields: { replyText?: string } }) =>
    failed.set(message.properties.messageId ?? '?', {
      reason: 'unroutable',
      error: `unroutable: no queue is bound for its type (${message.fields.replyText ?? 'NO_ROUTE'})`,
    });
  channel.on('return', onReturn);
  try {
    coalesceFrames(channel, () => {
      for (const message of messages) {
        const body = typeof message.body === 'string' ? Buffer.from(message.body) : message.body;
        if (body.length > MAX_MESSAGE_BYTES) {
          failed.set(message.id, {
            reason: 'oversize',
            error: `oversize: ${body.length} bytes, at most ${MAX_MESSAGE_BYTES}`,
          });
          continue;
        }
        try {
          const properties = message.properties ?? {
            type: message.type,
            contentType: 'application/json',
            headers: message.traceparent ? { traceparent: message.traceparent } : {},
          };
          channel.publish(exchange, message.type, body, {
            ...properties,
            persistent: true,
            mandatory: true,
            messageId: message.id,
          });
        } catch (error) {
          // amqplib encodes synchronously: a routing key or header it cannot encode throws here
          // (RangeError, TypeError), for this message only. A closed channel throws here too, and
          // that is the whole batch's failure, not the message's.
          if (!(error instanceof RangeError || error instanceof TypeError)) throw error;
          failed.set(message.id, { reason: 'unencodable', error: `unencodable: ${error.message}` });
        }
      }
    });
    await pTimeout(channel.waitForConfirms(), {
      milliseconds: timeoutMs,
      message: `publisher confirms not received within ${timeoutMs} ms`,
    });
  } finally {
    channel.off('return', onReturn);
  }
  return {
    confirmed: messages.filter((message) => !failed.has(message.id)).map((message) => message.id),
    failed: [...failed].map(([id, failure]) => ({ id, ...failure })),
  };
}
