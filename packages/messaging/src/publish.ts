import { coalesceFrames, type ConfirmChannel } from './amqp.ts';

export interface OutgoingMessage {
  id: string;
  type: string;
  body: string;
  traceparent: string | null;
}

export class UnroutableMessageError extends Error {
  override name = 'UnroutableMessageError';
}

/**
 * Publishes every message with many in flight and resolves only when the broker
 * has confirmed them all. Mandatory: a message no queue would take comes back
 * (before its confirm) and fails the whole batch rather than vanishing.
 * The channel must not be shared with another publisher while this runs.
 */
export async function publishConfirmed(channel: ConfirmChannel, exchange: string, messages: OutgoingMessage[]): Promise<void> {
  const returned: string[] = [];
  const onReturn = (message: { properties: { messageId?: string } }) => returned.push(message.properties.messageId ?? '?');
  channel.on('return', onReturn);
  try {
    coalesceFrames(channel, () => {
      for (const message of messages) {
        channel.publish(exchange, message.type, Buffer.from(message.body), {
          persistent: true,
          mandatory: true,
          messageId: message.id,
          type: message.type,
          contentType: 'application/json',
          headers: message.traceparent ? { traceparent: message.traceparent } : {},
        });
      }
    });
    await channel.waitForConfirms();
  } finally {
    channel.off('return', onReturn);
  }
  if (returned.length > 0) {
    throw new UnroutableMessageError(`${returned.length} message(s) had no queue to go to, first ${returned[0]}`);
  }
}
