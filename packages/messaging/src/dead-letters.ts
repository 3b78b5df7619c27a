import type { GetMessage, MessagePropertyHeaders, Options } from 'amqplib';
import { SUBSCRIPTIONS, deadLetterQueueName, exchangeName, queueName, type Subscription } from '@gozon/contracts';
import type { AmqpConnection, ConfirmChannel } from './amqp.ts';

// What an operator does with the dead-letter queues: look at them, put messages
// back on the main exchange once the cause is fixed, or throw them away.
//
// A quorum queue cannot be peeked: a message is only read by taking it. Each
// operation takes every message of a DLQ with basic.get (noAck false), keeping
// them all unacknowledged until the queue answers "empty", and only then settles
// them: acks what it handled, nacks the rest with requeue, in the order they
// came, so the queue keeps its order. Requeueing earlier would loop: a requeued
// message goes to the back of a quorum queue and the next get hands it out again
// (RabbitMQ 3.10: get+nack cycles through the queue for ever, never "empty").
// If the process dies half-way, the broker returns every unsettled message.

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

/** Which dead letters an operation touches: all of them when both are left out. */
export interface DeadLetterSelection {
  /** One dead-letter queue, by its full name. */
  queue?: string | undefined;
  /** Only messages with these message ids. */
  ids?: readonly string[] | undefined;
}

export interface ReplayedDeadLetter extends DeadLetter {
  /** Whether it is back on the main exchange (and gone from the DLQ); otherwise it stayed in the DLQ. */
  replayed: boolean;
  /** Why it stayed, when it did. */
  failure?: string;
}

export class DeadLetterQueueMissingError extends Error {
  override name = 'DeadLetterQueueMissingError';
}

/** A replay or drop that failed part-way; `done` is what it had already done (the rest is still in its DLQ). */
export class DeadLetterOperationError<T> extends Error {
  override name = 'DeadLetterOperationError';
  readonly done: T[];
  constructor(cause: unknown, done: T[]) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.done = done;
  }
}

const PREVIEW_LENGTH = 120;

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

/** Every dead-letter queue of a namespace, in the order of SUBSCRIPTIONS. */
export function deadLetterQueuesOf(namespace: string): string[] {
  return deadLetterQueues(namespace).map((dlq) => dlq.name);
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
 * The start of a message body on one line (whitespace runs become one space),
 * at most 120 characters with an ellipsis, as the DLQ tool shows it for a dead
 * letter or a set-aside outbox row alike. Never throws: bytes that are not
 * UTF-8 come out as replacement characters.
 */
export function previewOf(content: Buffer | string): string {
  const text = (typeof content === 'string' ? content : content.toString('utf8')).replace(/\s+/g, ' ').trim();
  return text.length > PREVIEW_LENGTH ? `${text.slice(0, PREVIEW_LENGTH - 1)}…` : text;
}

interface DeadLetterQueue {
  name: string;
  mainQueue: string;
  subscription: Subscription;
}

function deadLetterQueues(namespace: string): DeadLetterQueue[] {
  return SUBSCRIPTIONS.map((subscription) => {
    const mainQueue = queueName(namespace, subscription);
    return { name: deadLetterQueueName(mainQueue), mainQueue, subscription };
  });
}

function describe(dlq: DeadLetterQueue, message: GetMessage): DeadLetter {
  const headers = message.properties.headers ?? {};
  const death = firstXDeath(headers);
  const xError = asString(headers['x-error']);
  const deathReason = asString(headers['x-first-death-reason']) ?? asString(death?.reason);
  const deathRoutingKeys = Array.isArray(death?.['routing-keys']) ? (death['routing-keys'] as unknown[]) : [];
  return {
    queue: dlq.name,
    originalQueue: asString(headers['x-original-queue']) ?? asString(headers['x-first-death-queue']) ?? asString(death?.queue) ?? dlq.mainQueue,
    messageId: asString(message.properties.messageId),
    // Without either header (a message put there by hand) the DLQ's own subscription says which type it is.
    routingKey: asString(headers['x-original-routing-key']) ?? asString(deathRoutingKeys[0]) ?? dlq.subscription.type,
    error: xError ?? (deathReason ? `dead-lettered by the broker: ${deathReason}` : 'unknown (no x-error or x-death header)'),
    source: xError === undefined && death !== undefined ? 'broker' : 'consumer',
    deadLetteredAt: asString(headers['x-dead-lettered-at']) ?? timestampToIso(death?.time),
    size: message.content.length,
    preview: previewOf(message.content),
  };
}

function selectedQueues(namespace: string, selection: DeadLetterSelection): DeadLetterQueue[] {
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

function isSelected(message: GetMessage, selection: DeadLetterSelection): boolean {
  if (selection.ids === undefined || selection.ids.length === 0) return true;
  const id = asString(message.properties.messageId);
  return id !== undefined && selection.ids.includes(id);
}

/**
 * Fails, naming them all, when a queue (or the exchange replay publishes to) was
 * never declared: most likely AMQP_NAMESPACE is wrong. A get or a publish there
 * would close the channel with a 404 half-way through instead.
 */
async function checkDeclared(connection: AmqpConnection, namespace: string, queues: string[], exchange?: string): Promise<void> {
  const missing: string[] = [];
  const check = async (what: string, probe: (channel: Awaited<ReturnType<AmqpConnection['createChannel']>>) => Promise<unknown>) => {
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

/**
 * For each selected DLQ: takes all its messages, lets `handle` settle the selected
 * ones (it returns true when it acked one), and puts every other one back with
 * nack(requeue). After a failure the rest is not settled here: closing the
 * channel returns every unacked message to its queue.
 */
async function forEachDeadLetter(
  connection: AmqpConnection,
  namespace: string,
  selection: DeadLetterSelection,
  handle: (channel: ConfirmChannel, message: GetMessage, letter: DeadLetter) => Promise<boolean>,
  exchange?: string,
): Promise<void> {
  const queues = selectedQueues(namespace, selection);
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
        const settled = isSelected(message, selection) && (await handle(channel, message, describe(dlq, message)));
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

/** The dead letters of a namespace; every message stays in its DLQ. */
export async function listDeadLetters(connection: AmqpConnection, namespace: string, selection: DeadLetterSelection = {}): Promise<DeadLetter[]> {
  const letters: DeadLetter[] = [];
  await forEachDeadLetter(connection, namespace, selection, async (_channel, _message, letter) => {
    letters.push(letter);
    return false;
  });
  return letters;
}

function publishConfirmed(channel: ConfirmChannel, exchange: string, routingKey: string, content: Buffer, options: Options.Publish): Promise<string | undefined> {
  // mandatory: a routing key no queue is bound to comes back (basic.return, which
  // the broker sends before the ack) instead of vanishing while the DLQ copy is acked.
  let returned = false;
  const onReturn = () => (returned = true);
  channel.once('return', onReturn);
  return new Promise<string | undefined>((resolve) => {
    channel.publish(exchange, routingKey, content, { ...options, mandatory: true }, (failure) => {
      if (failure) resolve(`the broker refused it: ${failure instanceof Error ? failure.message : String(failure)}`);
      else if (returned) resolve(`no queue is bound to ${exchange} with routing key ${routingKey}`);
      else resolve(undefined);
    });
  }).finally(() => channel.off('return', onReturn));
}

/**
 * Publishes the selected dead letters again to the namespace's exchange with their
 * original routing key, properties and message id (so the consumer's inbox still
 * recognises one it has already applied), without the dead-lettering headers.
 * Each leaves its DLQ only once the broker has confirmed the new copy.
 */
export async function replayDeadLetters(
  connection: AmqpConnection,
  namespace: string,
  selection: DeadLetterSelection = {},
): Promise<ReplayedDeadLetter[]> {
  const exchange = exchangeName(namespace);
  const outcomes: ReplayedDeadLetter[] = [];
  const replayOne = async (channel: ConfirmChannel, message: GetMessage, letter: DeadLetter) => {
    const headers = Object.fromEntries(Object.entries(message.properties.headers ?? {}).filter(([name]) => !isDeadLetteringHeader(name)));
    // amqplib types every property as `any`; these are the ones a publish takes, as amqplib decoded them.
    const properties: Omit<Options.Publish, 'headers'> = message.properties;
    const { contentType, contentEncoding, priority, correlationId, replyTo, expiration, messageId, timestamp, type, userId, appId } = properties;
    const failure = await publishConfirmed(channel, exchange, letter.routingKey, message.content, {
      contentType,
      contentEncoding,
      priority,
      correlationId,
      replyTo,
      expiration,
      messageId,
      timestamp,
      type,
      userId,
      appId,
      headers,
      persistent: true,
    });
    if (failure === undefined) channel.ack(message);
    outcomes.push({ ...letter, replayed: failure === undefined, ...(failure === undefined ? {} : { failure }) });
    return failure === undefined;
  };
  try {
    await forEachDeadLetter(connection, namespace, selection, replayOne, exchange);
  } catch (error) {
    if (error instanceof DeadLetterQueueMissingError) throw error;
    throw new DeadLetterOperationError(error, outcomes);
  }
  return outcomes;
}

/** Removes the selected dead letters for good; returns what they were. */
export async function dropDeadLetters(connection: AmqpConnection, namespace: string, selection: DeadLetterSelection = {}): Promise<DeadLetter[]> {
  const dropped: DeadLetter[] = [];
  try {
    await forEachDeadLetter(connection, namespace, selection, async (channel, message, letter) => {
      channel.ack(message);
      dropped.push(letter);
      return true;
    });
  } catch (error) {
    if (error instanceof DeadLetterQueueMissingError) throw error;
    throw new DeadLetterOperationError(error, dropped);
  }
  return dropped;
}
