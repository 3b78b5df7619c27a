import type { Kysely } from 'kysely';
import pRetry from 'p-retry';
import pTimeout from 'p-timeout';
import { MalformedMessageError } from '@gozon/contracts';
import { isTransientError, reachFaultPoint, startSpan, traceIdOf, type Logger, type Stoppable } from '@gozon/platform';
import { forgetAttempts, forgiveAttempts, readAttempts, recordAttempts } from './inbox.ts';
import { lingerAfter } from './linger.ts';
import { sendToDeadLetters } from './dead-letter.ts';
import { coalesceFrames, type ConfirmChannel, type Delivery } from './amqp.ts';
import { inboxApplied, inboxDeadLettered, inboxDuplicates, inboxRetries } from './metrics.ts';
import { messagingView, type MessagingTables } from './schema.ts';

export interface IncomingMessage {
  message_id: string;
}

export interface MessageContext {
  traceparent: string | null;
}

export interface NewMessage<M> {
  message: M;
  /** The message's type: its routing key. */
  type: string;
  context: MessageContext;
}

/** What a handler applies: each message id once, in delivery order. */
export interface InboxBatch<M> {
  messages: NewMessage<M>[];
  /** Redelivered messages of the batch whose attempt counts go with its commit (receive_messages' `settled`). */
  settled: string[];
}

/**
 * What a service registers: how to read a message, and how to apply a batch.
 * apply is the whole inbox transaction in one call of the domain's inbox
 * function (createInboxFunctions, receiveArguments): the messages new to the
 * inbox are applied, each once, in delivery order — set-based, taking row
 * locks in one fixed order so that concurrent batches cannot deadlock — and
 * what they send goes into the outbox in the same statement. It answers the
 * message ids that were new, and so applied. What it passes to `afterCommit`
 * runs once the call has committed, and not if it failed (to count what took
 * effect, once: a batch may be tried more than once).
 */
export interface InboxHandler<DB extends MessagingTables, M extends IncomingMessage> {
  parse(type: string, body: Buffer): M;
  apply(db: Kysely<DB>, batch: InboxBatch<M>, afterCommit: (effect: () => void) => void): Promise<ReadonlySet<string>>;
}

export interface InboxConsumerOptions<DB extends MessagingTables, M extends IncomingMessage> {
  db: Kysely<DB>;
  channel: ConfirmChannel;
  queue: string;
  /** Where poison is published to reach the queue's dead-letter queue (deadLetterExchangeName). */
  deadLetterExchange: string;
  handler: InboxHandler<DB, M>;
  batchSize: number;
  concurrency: number;
  /** After a batch that was not full, its slot waits up to this long before taking the next, so that messages gather (see lingerAfter). */
  lingerMs: number;
  /** After such a batch, block the whole process this long instead (0: off; see lingerAfter). */
  napMs?: number;
  /** Attempts at a redelivered message before it is taken for poison and dead-lettered (see startInboxConsumer). */
  maxAttempts: number;
  /** Tells readiness what is wrong (a string) or that all is well again (null). */
  report: (problem: string | null) => void;
  /**
   * The consumer can go on no longer and the session must start anew: the broker
   * cancelled it (its queue was deleted, the node went away), or a batch failed
   * in a way that left its deliveries unacked in hand, where they would otherwise
   * stay until the channel closed.
   */
  onLost: (reason: Error) => void;
  logger: Logger;
}

interface Parsed<M> {
  delivery: Delivery;
  message: M;
  context: MessageContext;
}

function contextOf(delivery: Delivery): MessageContext {
  const traceparent: unknown = delivery.properties.headers?.traceparent;
  return { traceparent: typeof traceparent === 'string' ? traceparent : null };
}

export class PoisonMessageError extends Error {
  override name = 'PoisonMessageError';
}

/** Why a message was dead-lettered, as gozon_inbox_dead_lettered_total labels it. */
function deadLetterReason(error: unknown): 'malformed' | 'poison' | 'failed' {
  if (error instanceof MalformedMessageError) return 'malformed';
  return error instanceof PoisonMessageError ? 'poison' : 'failed';
}

// A stopping consumer lets the batches in hand finish this long; the rest return to the queue.
const STOP_GRACE_MS = 3000;
const CANCEL_TIMEOUT_MS = 2000;
// A committed batch's acks wait this long for later ones, to leave in one write with them. Each
// ack frame on its own woke RabbitMQ's channel, the quorum queue and its log: at 500 messages a
// second, 464–468 µs of RabbitMQ's CPU per message with every ack sent at once, 322–336 with
// acks every 10 ms (`node scripts/broker-cost.ts`). Nothing waits on an ack but the broker's
// bookkeeping: the order's status moved with the commit.
const ACK_WITHIN_MS = 10;

/**
 * Consumes a queue through the inbox: a batch of deliveries is applied in one
 * transaction, each message only if its id is new to the inbox, and acked after
 * the commit, within ACK_WITHIN_MS (10 ms) or as soon as a batch's worth
 * waits, with the acks of the batches committed meanwhile. A redelivery after a
 * crash finds its inbox row and changes nothing.
 *
 * Whose fault is a failure decides what happens to the message:
 * - an infrastructure condition (isTransientError: the database restarting,
 *   read-only, out of disk, a statement timeout, a lost connection) is retried
 *   in-process with backoff for as long as it lasts, readiness red meanwhile;
 *   the message never goes back to the broker for it, so the broker's
 *   delivery limit is not spent on bad luck;
 * - a failure of the message itself (malformed, or a permanent error when it is
 *   applied alone — a failing batch is split so that one message cannot hold
 *   back the others) sends it to the dead-letter queue with its error;
 * - a message that kills its consumer: a redelivered message may have been in
 *   hand when its consumer died. Each attempt at it that reaches the handler is
 *   counted in the database (inbox_attempt), unless the database cut it short.
 *   One never counted goes in a batch as usual; one counted before goes alone,
 *   so each later death is blamed on the one message it met. Once counted
 *   `maxAttempts` times it is dead-lettered as poison. A poison message thus
 *   causes at most maxAttempts + 1 deaths, and
 *   the innocent messages in hand at each are returned to the queue that many
 *   times at most (see docs/ARCHITECTURE.md, "Delivery limit arithmetic", against the
 *   broker's own delivery limit).
 */
export async function startInboxConsumer<DB extends MessagingTables, M extends IncomingMessage>(
  options: InboxConsumerOptions<DB, M>,
): Promise<Stoppable> {
  const { channel, queue, logger } = options;
  // The messaging statements see the domain's database through its messaging tables; the handler sees all of it.
  const messaging = messagingView(options.db);
  const waiting: Delivery[] = [];
  const stopped = new AbortController();
  let closing = false;
  let active = 0;
  let retrying = 0;
  const idle: Array<() => void> = [];
  // Committed, their acks not sent yet (ACK_WITHIN_MS).
  const unacked: Delivery[] = [];
  let ackTimer: NodeJS.Timeout | undefined;
  /** Writes the acks held; answers how many. */
  const sendAcks = (): number => {
    clearTimeout(ackTimer);
    ackTimer = undefined;
    const deliveries = unacked.splice(0);
    if (deliveries.length === 0) return 0;
    try {
      coalesceFrames(channel, () => deliveries.forEach((delivery) => channel.ack(delivery)));
    } catch (error) {
      // The channel is gone: the deliveries return to the queue with it, and the inbox absorbs them.
      logger.warn('inbox.ack_failed', { queue, count: deliveries.length, error });
      return 0;
    }
    return deliveries.length;
  };
  const ackSoon = (deliveries: Delivery[]) => {
    unacked.push(...deliveries);
    if (unacked.length >= options.batchSize) sendAcks();
    else ackTimer ??= setTimeout(sendAcks, ACK_WITHIN_MS);
  };
  /** Resolves once no batch is in hand and none waits (at once if so already). */
  const whenIdle = () =>
    active === 0 && waiting.length === 0 ? Promise.resolve() : new Promise<void>((resolve) => idle.push(resolve));

  /**
   * One inbox transaction: one call of the handler. `count` first counts the
   * attempt of the batch's redelivered messages (see applyAndAck); their counts
   * are forgotten with the commit.
   */
  const applyBatch = async (batch: Parsed<M>[], suspects: string[], count: () => Promise<void>) => {
    // A second copy within the same batch is a duplicate too: only the first goes to the handler.
    const seen = new Set<string>();
    const firsts = batch.filter(({ message }) => !seen.has(message.message_id) && seen.add(message.message_id));
    // Each message's apply is a span of its order's trace; what the handler writes to the outbox
    // carries it on. The span of a message the inbox had received before is never ended, so never exported.
    const spans = firsts.map(({ delivery, context }) =>
      startSpan(`apply ${delivery.fields.routingKey}`, 'consumer', context.traceparent),
    );
    const messages = firsts.map(({ message, context, delivery }, i) => ({
      message,
      type: delivery.fields.routingKey,
      context: spans[i] ? { ...context, traceparent: spans[i].traceparent } : context,
    }));
    const effects: Array<() => void> = [];
    await count();
    const fresh = await options.handler
      .apply(options.db, { messages, settled: suspects }, (effect) => effects.push(effect))
      .catch((error: unknown) => {
        for (const span of spans) span?.end(error);
        throw error;
      });
    firsts.forEach(({ message }, i) => {
      if (fresh.has(message.message_id)) spans[i]?.end();
    });
    const unapplied = new Set(fresh);
    for (const { message, context } of batch) {
      if (unapplied.delete(message.message_id)) continue;
      logger.info('inbox.duplicate_ignored', {
        message_id: message.message_id,
        trace_id: traceIdOf(context.traceparent),
      });
    }
    inboxApplied.inc({ queue }, fresh.size);
    if (fresh.size < batch.length) inboxDuplicates.inc({ queue }, batch.length - fresh.size);
    // Committed: an effect that throws must not have the batch tried again, or dead-lettered.
    for (const effect of effects) {
      try {
        effect();
      } catch (error) {
        logger.error('inbox.after_commit_failed', { queue, error });
      }
    }
  };

  /**
   * Runs `work` until it succeeds or fails for a reason that is not transient,
   * readiness red while it keeps failing; rejects with an AbortError once stopping.
   */
  const settled = async <T>(
    what: 'apply' | 'read_attempts' | 'forget_attempts',
    size: number,
    work: () => Promise<T>,
    onFailure?: () => Promise<void>,
  ): Promise<T> => {
    let failing = false;
    try {
      return await pRetry(work, {
        retries: Number.POSITIVE_INFINITY,
        minTimeout: 50,
        maxTimeout: 5000,
        randomize: true,
        signal: stopped.signal,
        shouldRetry: ({ error }) => isTransientError(error),
        onFailedAttempt: async ({ error, attemptNumber }) => {
          if (!isTransientError(error)) return;
          if (!failing) retrying += 1;
          failing = true;
          await onFailure?.();
          inboxRetries.inc({ queue, step: what });
          options.report(`inbox of ${queue} retrying: ${error.message}`);
          logger.warn('inbox.apply_retrying', { queue, what, attempt: attemptNumber, size, error });
        },
      });
    } finally {
      if (failing && --retrying === 0) options.report(null);
    }
  };

  const deadLetter = async (delivery: Delivery, error: unknown) => {
    await sendToDeadLetters(channel, options.deadLetterExchange, queue, delivery, error);
    channel.ack(delivery);
    inboxDeadLettered.inc({ queue, reason: deadLetterReason(error) });
    logger.warn('inbox.dead_lettered', { queue, message_id: delivery.properties.messageId, error });
  };

  /** Applies items as one batch; when that fails for a reason of its own, each alone, dead-lettering those that fail alone. */
  const applyAndAck = async (items: Parsed<M>[], suspects: Set<string>) => {
    const suspectsOf = (of: Parsed<M>[]) => of.map((item) => item.message.message_id).filter((id) => suspects.has(id));
    // The redelivered among them count an attempt each time one reaches the handler, on a
    // connection of its own so that the count outlives a death. A try the database refused
    // (down, read-only, a lock wait that timed out) is not counted, or is taken back: a death
    // then is the infrastructure's bad luck, not the message's doing.
    const ids = suspectsOf(items);
    let counted = false;
    const count = async () => {
      if (ids.length === 0 || counted) return;
      await recordAttempts(messaging, ids);
      counted = true;
    };
    const forgive = async () => {
      if (!counted) return;
      await forgiveAttempts(messaging, ids).then(
        () => (counted = false),
        () => {}, // the database refuses this too: the attempt stays counted
      );
    };
    try {
      await settled('apply', items.length, () => applyBatch(items, ids, count), forgive);
    } catch (error) {
      if (stopped.signal.aborted) return; // unacked: back to the queue as the channel closes
      if (items.length === 1) {
        await deadLetter(items[0]!.delivery, error);
        return;
      }
      logger.warn('inbox.batch_split', { queue, size: items.length, error });
      for (const item of items) await applyAndAck([item], suspects);
      return;
    }
    reachFaultPoint('consumer.after-commit');
    ackSoon(items.map(({ delivery }) => delivery));
  };

  const processBatch = async (deliveries: Delivery[]) => {
    const parsed: Parsed<M>[] = [];
    for (const delivery of deliveries) {
      try {
        parsed.push({
          delivery,
          message: options.handler.parse(delivery.fields.routingKey, delivery.content),
          context: contextOf(delivery),
        });
      } catch (error) {
        if (!(error instanceof MalformedMessageError)) throw error;
        await deadLetter(delivery, error);
      }
    }
    if (parsed.length === 0) return;
    const suspects = parsed
      .filter(({ delivery }) => delivery.fields.redelivered)
      .map(({ message }) => message.message_id);
    if (suspects.length === 0) return applyAndAck(parsed, new Set());
    // Redelivered: perhaps in hand when its consumer died. One never counted goes in a batch as
    // usual; one counted before goes alone, so that each later death is blamed on the one
    // message it met, and past maxAttempts it is taken for poison.
    const before = await settled('read_attempts', suspects.length, () => readAttempts(messaging, suspects));
    const counted = (item: Parsed<M>) => before.get(item.message.message_id) ?? 0;
    const together = parsed.filter((item) => counted(item) === 0);
    if (together.length > 0) await applyAndAck(together, new Set(suspects));
    for (const item of parsed.filter((item) => counted(item) > 0)) {
      if (counted(item) < options.maxAttempts) {
        await applyAndAck([item], new Set(suspects));
        continue;
      }
      await deadLetter(
        item.delivery,
        new PoisonMessageError(`its consumer died during each of its last ${counted(item)} attempts`),
      );
      await settled('forget_attempts', 1, () => forgetAttempts(messaging, [item.message.message_id]));
    }
  };

  const drain = () => {
    while (!closing && active < options.concurrency && waiting.length > 0) {
      const batch = waiting.splice(0, options.batchSize);
      active += 1;
      // Runs on its own, as one of `concurrency` slots: counted in `active`, so that stop() and a
      // cancellation wait for it through whenIdle(). It never rejects: the batch's errors are
      // logged in the catch below, the linger only waits, and the finally frees the slot.
      void processBatch(batch)
        .catch((error: Error) => {
          // Stopping mid-batch, the channel failing, or a failure of no message's own (a handler's
          // parse that throws what it should not, a dead letter the broker refused): the
          // deliveries are unacked in hand, and only the channel's end returns them to the queue.
          if (stopped.signal.aborted) return;
          logger.error('inbox.batch_failed', { queue, error });
          sendAcks();
          options.onLost(error);
        })
        .then(() =>
          batch.length < options.batchSize && !stopped.signal.aborted
            ? lingerAfter(batch.length, options.lingerMs, options.napMs)
            : undefined,
        )
        .finally(() => {
          active -= 1;
          drain();
          if (active === 0 && waiting.length === 0) for (const resolve of idle.splice(0)) resolve();
        });
    }
  };

  const { consumerTag } = await channel.consume(queue, (delivery) => {
    if (delivery === null) {
      // The queue may be gone (deleted, its node lost), and with it every delivery in hand:
      // they are applied before the session is given up, or they would be lost for good.
      logger.warn('inbox.cancelled_by_broker', { queue, in_hand: active + waiting.length });
      // Not awaited: the consume callback returns at once. whenIdle() never rejects, and
      // onLost only settles the session's `lost`, so nothing can fail here unseen.
      void whenIdle().then(() => {
        sendAcks();
        options.onLost(new Error(`the broker cancelled the consumer of ${queue}`));
      });
      return;
    }
    if (closing) return; // unacked: back to the queue as the channel closes
    waiting.push(delivery);
    drain();
  });
  logger.info('inbox.consuming', { queue, batch_size: options.batchSize, concurrency: options.concurrency });

  return {
    async stop() {
      // Within the cancel and the grace together, as the session's bound on a stop expects.
      const stopBy = Date.now() + CANCEL_TIMEOUT_MS + STOP_GRACE_MS;
      closing = true;
      // Stop taking deliveries; those not begun return to the queue when the channel closes.
      waiting.length = 0;
      const finished = whenIdle();
      await pTimeout(channel.cancel(consumerTag), { milliseconds: CANCEL_TIMEOUT_MS, message: false }).catch(() => {});
      const done = await pTimeout(
        finished.then(() => true),
        { milliseconds: STOP_GRACE_MS, message: false },
      );
      // The acks must reach the broker before the connection's close does, which amqplib may write
      // first (each channel has its own buffer): a round trip on this channel returns after the
      // broker has read everything sent on it before. Past the stop's time, they are left to race
      // (lost, they come back, and the inbox absorbs them).
      const left = stopBy - Date.now();
      if (sendAcks() > 0 && left > 0)
        await pTimeout(channel.checkQueue(queue), { milliseconds: left, message: false }).catch(() => {});
      // A batch still in hand (retrying, or waiting on a blocked broker) is abandoned: unacked, it returns to the queue.
      stopped.abort();
      logger.info('inbox.stopped', { queue, finished_in_hand: done === true });
    },
  };
}
