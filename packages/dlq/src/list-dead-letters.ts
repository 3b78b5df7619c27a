import type { AmqpConnection } from '@gozon/messaging';
import type { DeadLetterSelection } from './dead-letter-queues.ts';
import type { DeadLetter } from './describe-dead-letter.ts';
import { forEachDeadLetter } from './take-dead-letters.ts';

/**
 * The selected dead letters of a namespace, queue by queue in the order of
 * SUBSCRIPTIONS and in queue order within each; every message stays in its DLQ.
 * Throws DeadLetterQueueMissingError when a queue is not declared.
 */
export async function listDeadLetters(
  connection: AmqpConnection,
  namespace: string,
  selection: DeadLetterSelection = {},
): Promise<DeadLetter[]> {
  const letters: DeadLetter[] = [];
  await forEachDeadLetter(connection, namespace, selection, async (_channel, _message, letter) => {
    letters.push(letter);
    return false;
  });
  return letters;
}
