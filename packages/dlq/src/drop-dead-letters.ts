import type { AmqpConnection } from '@gozon/messaging';
import type { DeadLetterSelection } from './dead-letter-queues.ts';
import type { DeadLetter } from './describe-dead-letter.ts';
import { changeDeadLetters } from './take-dead-letters.ts';

/**
 * Removes the selected dead letters for good; returns what they were. Throws
 * DeadLetterQueueMissingError (nothing removed) or DeadLetterOperationError
 * (with those already removed).
 */
export async function dropDeadLetters(
  connection: AmqpConnection,
  namespace: string,
  selection: DeadLetterSelection = {},
): Promise<DeadLetter[]> {
  const dropped: DeadLetter[] = [];
  return changeDeadLetters(connection, namespace, selection, dropped, async (channel, message, letter) => {
    channel.ack(message);
    dropped.push(letter);
    return true;
  });
}
