import type { GetMessage, Options } from 'amqplib';
import { exchangeName } from '@gozon/contracts';
import { publishConfirmed, type AmqpConnection, type ConfirmChannel, type OutgoingMessage } from '@gozon/messaging';
import { deadLetterQueues, type DeadLetterSelection } from './dead-letter-queues.ts';
import type { DeadLetter } from './describe-dead-letter.ts';
import { changeDeadLetters } from './take-dead-letters.ts';

/** A dead letter a replay took, and what became of it. */
export interface ReplayedDeadLetter extends DeadLetter {
  /** Whether it is back on the main exchange (and gone from the DLQ); otherwise it stayed in the DLQ. */
  replayed: boolean;
  /** Why it stayed, when it did. */
  failure?: string;
}

// Most a replay waits for the broker to confirm one message, as long as a relay
// waits for a whole batch by default (OUTBOX_CONFIRM_TIMEOUT_MS).
const CONFIRM_TIMEOUT_MS = 10_000;

/** Headers that say how a message was dead-lettered; a replayed message starts clean without them. */
function isDeadLetteringHeader(name: string): boolean {
  return (
    name === 'x-error' ||
    name.startsWith('x-original-') ||
    name === 'x-dead-lettered-at' ||
    name === 'x-death' ||
    name.startsWith('x-first-death-') ||
    name.startsWith('x-last-death-') ||
    // Stamped by a quorum queue on every delivery, and raised by each `list` of the DLQ.
    // RabbitMQ 3.10 stamps its own count over a published one, but a replay is not a redelivery.
    name === 'x-delivery-count'
  );
}

/** The dead letter as it was first published: its routing key, body and properties, without the dead-lettering headers. */
function asFirstPublished(message: GetMessage, letter: DeadLetter, messageId: string): OutgoingMessage {
  const headers = Object.fromEntries(
    Object.entries(message.properties.headers ?? {}).filter(([name]) => !isDeadLetteringHeader(name)),
  );
  // amqplib types every property as `any`; these are the ones a publish takes, as amqplib decoded them.
  const properties: Omit<Options.Publish, 'headers'> = message.properties;
  const { contentType, contentEncoding, priority, correlationId, replyTo, expiration, timestamp, type, userId, appId } =
    properties;
  return {
    id: messageId,
    type: letter.routingKey,
    body: message.content,
    properties: {
      contentType,
      contentEncoding,
      priority,
      correlationId,
      replyTo,
      expiration,
      timestamp,
      type,
      userId,
      appId,
      headers,
    },
  };
}

/**
 * Publishes the selected dead letters again to the namespace's exchange with their
 * original routing key, properties and message id (so the consumer's inbox still
 * recognises one it has already applied), without the dead-lettering headers,
 * one at a time through publishConfirmed. Each leaves its DLQ only once the
 * broker has confirmed the new copy; one that fails on its own account
 * (unroutable, oversize, unencodable), has no message id to tell by, or whose
 * routing key is not the type its queue takes (a forged header), stays and is
 * answered with `replayed: false` and its `failure`. Throws
 * DeadLetterQueueMissingError (nothing replayed) or DeadLetterOperationError
 * (with what was done) when the broker does not confirm one within 10 s, refuses
 * one outright, or the channel closes: every letter not answered is still in its DLQ.
 */
export async function replayDeadLetters(
  connection: AmqpConnection,
  namespace: string,
  selection: DeadLetterSelection = {},
): Promise<ReplayedDeadLetter[]> {
  const exchange = exchangeName(namespace);
  const typeOf = new Map(deadLetterQueues(namespace).map((dlq) => [dlq.name, dlq.subscription.type]));
  const outcomes: ReplayedDeadLetter[] = [];
  const publishAgain = async (
    channel: ConfirmChannel,
    message: GetMessage,
    letter: DeadLetter,
  ): Promise<string | undefined> => {
    if (letter.messageId === undefined)
      return 'it has no message id, without which a replay cannot tell whether a queue took it';
    // Anyone who may dead-letter into this queue writes its headers: a replay publishes only the
    // type its queue takes, so a forged routing key cannot have the tool publish another type.
    if (letter.routingKey !== typeOf.get(letter.queue))
      return `its routing key ${letter.routingKey} is not ${typeOf.get(letter.queue)}, the type ${letter.queue} takes`;
    const [failed] = (
      await publishConfirmed(
        channel,
        exchange,
        [asFirstPublished(message, letter, letter.messageId)],
        CONFIRM_TIMEOUT_MS,
      )
    ).failed;
    if (failed?.reason === 'unroutable')
      return `no queue is bound to ${exchange} with routing key ${letter.routingKey}`;
    return failed?.error;
  };
  const replayOne = async (channel: ConfirmChannel, message: GetMessage, letter: DeadLetter) => {
    const failure = await publishAgain(channel, message, letter);
    if (failure === undefined) channel.ack(message);
    outcomes.push({ ...letter, replayed: failure === undefined, ...(failure === undefined ? {} : { failure }) });
    return failure === undefined;
  };
  return changeDeadLetters(connection, namespace, selection, outcomes, replayOne, exchange);
}
