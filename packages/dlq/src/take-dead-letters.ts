import type { GetMessage } from 'amqplib';
import type { AmqpConnection, ConfirmChannel } from '@gozon/messaging';
import { DeadLetterQueueMissingError, selectQueues, type DeadLetterSelection } from './dead-letter-queues.ts';
import { describeDeadLetter, type DeadLetter } from './describe-dead-letter.ts';

// A quorum queue cannot be peeked: a message is only read by taking it. Each
// operation takes every message of a DLQ with basic.get (noAck false), keeping
// them all unacknowledged until the queue answers "empty", and only then settles
// them: acks what it handled, nacks the rest with requeue, in the order they
// came, so the queue keeps its order. Requeueing earlier would loop: a requeued
// message goes to the back of a quorum queue and the next get hands it out again
// (RabbitMQ 3.10: get+nack cycles through the queue for ever, never "empty").
// If the process dies half-way, the broker returns every unsettled message.

/** A replay or drop that failed part-way; `done` is what it had already done (the rest is still in its DLQ). */
export class DeadLetterOperationError<T> extends Error {
  override name = 'DeadLetterOperationError';
  readonly done: T[];
  constructor(cause: unknown, done: T[]) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.done = done;
  }
}

/** Settles one dead letter (ack) and answers true, or leaves it to go back to its DLQ (false). */
export type DeadLetterHandler = (channel: ConfirmChannel, message: GetMessage, letter: DeadLetter) => Promise<boolean>;

/**
 * Fails, naming them all, when a queue (or the exchange replay publishes to) was
 * never declared: most likely AMQP_NAMESPACE is wrong. A get or a publish there
 * would close the channel with a 404 half-way through instead.
 */
async function checkDeclared(
  connection: AmqpConnection,
  namespace: string,
  queues: string[],
  exchange?: string,
): Promise<void> {
  const missing: string[] = [];
  const check = async (
    what: string,
    probe: (channel: Awaited<ReturnType<AmqpConnection['createChannel']>>) => Promise<unknown>,
  ) => {
    // A 404 closes the channel it happened on, so each check gets its own.
    const channel = await connection.createChannel();
    channel.on('error', () => {});
    try {
      await probe(channel);
      await channel.close();
    } catch {
      missing.push(what);
    }
  };
  for (const queue of queues) await check(`queue ${queue}`, (channel) => channel.checkQueue(queue));
  if (exchange !== undefined) await check(`exchange ${exchange}`, (channel) => channel.checkExchange(exchange));
  if (missing.length > 0) {
    throw new DeadLetterQueueMissingError(
      `not declared in namespace '${namespace}': ${missing.join(', ')} (is AMQP_NAMESPACE right, and has a service declared the topology?)`,
    );
  }
}

/** Takes every message of a queue without settling any, so none comes back before the queue is empty. */
async function takeAll(channel: ConfirmChannel, queue: string): Promise<GetMessage[]> {
  const taken: GetMessage[] = [];
  for (;;) {
    const message = await channel.get(queue, { noAck: false });
    if (message === false) return taken;
    taken.push(message);
  }
}

function isSelected(letter: DeadLetter, selection: DeadLetterSelection): boolean {
  if (selection.ids === undefined || selection.ids.length === 0) return true;
  return letter.messageId !== undefined && selection.ids.includes(letter.messageId);
}

/**
 * For each selected DLQ: takes all its messages, lets `handle` settle the selected
 * ones, and puts every other one back with nack(requeue). Throws
 * DeadLetterQueueMissingError before it takes anything when a queue (or
 * `exchange`) is not declared. After a failure the rest is not settled here:
 * closing the channel returns every unacked message to its queue.
 */
export async function forEachDeadLetter(
  connection: AmqpConnection,
  namespace: string,
  selection: DeadLetterSelection,
  handle: DeadLetterHandler,
  exchange?: string,
): Promise<void> {
  const queues = selectQueues(namespace, selection);
  await checkDeclared(
    connection,
    namespace,
    queues.map((dlq) => dlq.name),
    exchange,
  );
  const channel = await connection.createConfirmChannel();
  // When the broker closes the channel (say, it refused a publish outright), this says why;
  // the call that noticed only knows that the channel is closed.
  let closedBecause: Error | undefined;
  channel.on('error', (error: Error) => (closedBecause ??= error));
  try {
    for (const dlq of queues) {
      const taken = await takeAll(channel, dlq.name);
      const unsettled: GetMessage[] = [];
      for (const message of taken) {
        const letter = describeDeadLetter(dlq, message);
        const settled = isSelected(letter, selection) && (await handle(channel, message, letter));
        if (!settled) unsettled.push(message);
      }
      for (const message of unsettled) channel.nack(message, false, true);
    }
  } catch (error) {
    throw closedBecause ?? error;
  } finally {
    await channel.close().catch(() => {});
  }
  if (closedBecause !== undefined) throw closedBecause;
}

/**
 * forEachDeadLetter for an operation that changes the DLQs, answering `done`,
 * which `handle` fills. A failure part-way becomes a DeadLetterOperationError
 * carrying what was done; DeadLetterQueueMissingError (nothing was done) stays as it is.
 */
export async function changeDeadLetters<T>(
  connection: AmqpConnection,
  namespace: string,
  selection: DeadLetterSelection,
  done: T[],
  handle: DeadLetterHandler,
  exchange?: string,
): Promise<T[]> {
  try {
    await forEachDeadLetter(connection, namespace, selection, handle, exchange);
  } catch (error) {
    if (error instanceof DeadLetterQueueMissingError) throw error;
    throw new DeadLetterOperationError(error, done);
  }
  return done;
}
