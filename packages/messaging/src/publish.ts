import pTimeout from 'p-timeout';
import { coalesceFrames, type ConfirmChannel } from './amqp.ts';

export interface OutgoingMessage {
  id: string;
  type: string;
  body: string;
  traceparent: string | null;
}

/** What became of a batch: the ids the broker took, and those that failed on their own account, with why. */
export interface PublishOutcome {
  confirmed: string[];
  failed: Array<{ id: string; error: string }>;
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
 * Rejects (TimeoutError, or the channel's close) when the confirms themselves
 * do not all come: the caller must then treat the whole batch as unsent and the
 * channel as lost. The channel must not be shared with another publisher while
 * this runs.
 */
export async function publishConfirmed(channel: ConfirmChannel, exchange: string, messages: OutgoingMessage[], timeoutMs: number): Promise<PublishOutcome> {
  const failed = new Map<string, string>();
  const onReturn = (message: { properties: { messageId?: string }; fields: { replyText?: string } }) =>
    failed.set(message.properties.messageId ?? '?', `unroutable: no queue is bound for its type (${message.fields.replyText ?? 'NO_ROUTE'})`);
  channel.on('return', onReturn);
  try {
    coalesceFrames(channel, () => {
      for (const message of messages) {
        const body = Buffer.from(message.body);
        if (body.length > MAX_MESSAGE_BYTES) {
          failed.set(message.id, `oversize: ${body.length} bytes, at most ${MAX_MESSAGE_BYTES}`);
          continue;
        }
        try {
          channel.publish(exchange, message.type, body, {
            persistent: true,
            mandatory: true,
            messageId: message.id,
            type: message.type,
            contentType: 'application/json',
            headers: message.traceparent ? { traceparent: message.traceparent } : {},
          });
        } catch (error) {
          // amqplib encodes synchronously: a routing key or header it cannot encode throws here
          // (RangeError, TypeError), for this message only. A closed channel throws here too, and
          // that is the whole batch's failure, not the message's.
          if (!(error instanceof RangeError || error instanceof TypeError)) throw error;
          failed.set(message.id, `unencodable: ${error.message}`);
        }
      }
    });
    await pTimeout(channel.waitForConfirms(), { milliseconds: timeoutMs, message: `publisher confirms not received within ${timeoutMs} ms` });
  } finally {
    channel.off('return', onReturn);
  }
  return {
    confirmed: messages.filter((message) => !failed.has(message.id)).map((message) => message.id),
    failed: [...failed].map(([id, error]) => ({ id, error })),
  };
}
