import type { Kysely, Transaction } from 'kysely';
import pRetry from 'p-retry';
import { MalformedMessageError } from '@gozon/contracts';
import { isTransientError, type Faults, type Logger } from '@gozon/runtime';
import { insertInboxMessages } from './inbox.ts';
import { insertOutboxMessages } from './outbox.ts';
import { lingerAfter } from './linger.ts';
import { sendToDeadLetters } from './dead-letter.ts';
import { coalesceFrames, type ConfirmChannel, type Delivery } from './amqp.ts';
import type { MessagingTables, NewOutboxMessage } from './schema.ts';
import type { Stoppable } from './relay.ts';

export interface IncomingMessage {
  message_id: string;
}

export interface MessageContext {
  traceparent: string | null;
}

export interface NewMessage<M> {
  message: M;
  context: MessageContext;
}

/**
 * What a service registers: how to read a message, and how to apply a batch of
 * new ones (each new to the inbox, each once, in delivery order) inside the
 * inbox transaction — set-based, a few statements per batch rather than a few
 * per message, and taking its row locks in one fixed order so that concurrent
 * batches cannot deadlock. What apply returns goes into the outbox in that same
 * transaction, in one statement.
 */
export interface InboxHandler<DB extends MessagingTables, M extends IncomingMessage> {
  parse(type: string, body: Buffer): M;
  apply(trx: Transaction<DB>, batch: NewMessage<M>[]): Promise<NewOutboxMessage[]>;
}

export interface InboxConsumerOptions<DB extends MessagingTables, M extends IncomingMessage> {
  db: Kysely<DB>;
  channel: ConfirmChannel;
  queue: string;
  handler: InboxHandler<DB, M>;
  batchSize: number;
  concurrency: number;
  /** After a batch that was not full, its slot waits up to this long before taking the next, so that messages gather (see lingerAfter). */
  lingerMs: number;
  retries: number;
  logger: Logger;
  faults: Faults;
}

interface Parsed<M> {
  delivery: Delivery;
  message: M;
  context: MessageContext;
}

function contextOf(delivery: Delivery): MessageContext {
  const traceparent = delivery.properties.headers?.traceparent;
  return { traceparent: typeof traceparent === 'string' ? traceparent : null };
}

/**
 * Consumes a queue through the inbox: a batch of deliveries is applied in one
 * transaction, each message only if its id is new to the inbox, and acked after
 * the commit. A redelivery after a crash finds its inbox row and changes nothing.
 * A failing batch is split, so one bad message cannot hold back the others:
 * malformed or permanently failing messages go to the dead-letter queue with
 * their error; transient failures are retried with backoff, then requeued.
 */
export async function startInboxConsumer<DB extends MessagingTables, M extends IncomingMessage>(options: InboxConsumerOptions<DB, M>): Promise<Stoppable> {
  const { channel, queue, logger } = options;
  const waiting: Delivery[] = [];
  let active = 0;
  let idle: (() => void) | undefined;

  const applyBatch = (batch: Parsed<M>[]) =>
    options.db.transaction().execute(async (trx) => {
      const fresh = await insertInboxMessages(
        trx,
        batch.map(({ delivery, message }) => ({ messageId: message.message_id, type: delivery.fields.routingKey })),
      );
      const news: NewMessage<M>[] = [];
      for (const { message, context } of batch) {
        // A second copy within the same batch is a duplicate too: only the first applies.
        if (fresh.delete(message.message_id)) news.push({ message, context });
        else logger.info('inbox.duplicate_ignored', { message_id: message.message_id });
      }
      const outgoing = news.length > 0 ? await options.handler.apply(trx, news) : [];
      if (outgoing.length > 0) await insertOutboxMessages(trx, outgoing);
    });

  const applyWithRetry = (batch: Parsed<M>[]) =>
    pRetry(() => applyBatch(batch), {
      retries: options.retries,
      minTimeout: 50,
      maxTimeout: 2000,
      shouldRetry: ({ error }) => isTransientError(error),
      onFailedAttempt: ({ error, attemptNumber }) =>
        logger.warn('inbox.apply_retrying', { queue, attempt: attemptNumber, size: batch.length, error }),
    });

  const deadLetter = async (delivery: Delivery, error: unknown) => {
    await sendToDeadLetters(channel, queue, delivery, error);
    channel.ack(delivery);
    logger.warn('inbox.dead_lettered', { queue, message_id: delivery.properties.messageId, error });
  };

  const settleOne = async (item: Parsed<M>) => {
    try {
      await applyWithRetry([item]);
      options.faults('consumer.after-commit');
      channel.ack(item.delivery);
    } catch (error) {
      if (isTransientError(error)) {
        logger.error('inbox.requeued', { queue, message_id: item.message.message_id, error });
        channel.nack(item.delivery, false, true);
      } else {
        await deadLetter(item.delivery, error);
      }
    }
  };

  const processBatch = async (deliveries: Delivery[]) => {
    const parsed: Parsed<M>[] = [];
    for (const delivery of deliveries) {
      try {
        parsed.push({ delivery, message: options.handler.parse(delivery.fields.routingKey, delivery.content), context: contextOf(delivery) });
      } catch (error) {
        if (!(error instanceof MalformedMessageError)) throw error;
        await deadLetter(delivery, error);
      }
    }
    if (parsed.length === 0) return;
    try {
      await applyWithRetry(parsed);
    } catch (error) {
      if (parsed.length === 1) return settleOne(parsed[0]!);
      logger.warn('inbox.batch_split', { queue, size: parsed.length, error });
      for (const item of parsed) await settleOne(item);
      return;
    }
    options.faults('consumer.after-commit');
    coalesceFrames(channel, () => parsed.forEach(({ delivery }) => channel.ack(delivery)));
  };

  const drain = () => {
    while (active < options.concurrency && waiting.length > 0) {
      const batch = waiting.splice(0, options.batchSize);
      active += 1;
      processBatch(batch)
        .catch((error) => {
          // Only the broker channel failing gets here; unacked deliveries return to the queue by themselves.
          logger.error('inbox.batch_failed', { queue, error });
        })
        .then(() => (batch.length < options.batchSize ? lingerAfter(batch.length, options.lingerMs) : undefined))
        .finally(() => {
          active -= 1;
          drain();
          if (active === 0 && waiting.length === 0) idle?.();
        });
    }
  };

  const { consumerTag } = await channel.consume(queue, (delivery) => {
    if (delivery === null) {
      logger.warn('inbox.cancelled_by_broker', { queue });
      return;
    }
    waiting.push(delivery);
    drain();
  });
  logger.info('inbox.consuming', { queue, batch_size: options.batchSize, concurrency: options.concurrency });

  return {
    async stop() {
      await channel.cancel(consumerTag);
      if (active > 0 || waiting.length > 0) await new Promise<void>((resolve) => (idle = resolve));
      logger.info('inbox.stopped', { queue });
    },
  };
}
