import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import type pg from 'pg';
import { reachFaultPoint, startSpan, type Logger, type Stoppable } from '@gozon/platform';
import pTimeout from 'p-timeout';
import { claimBatch, markSent, recordPublishFailures } from './outbox.ts';
import { publishConfirmed, type PublishOutcome } from './publish.ts';
import { lingerAfter } from './linger.ts';
import { outboxBatchRows, outboxPublished, outboxSetAside } from './metrics.ts';
import { OUTBOX_CHANNEL, type MessagingTables } from './schema.ts';
import type { ConfirmChannel } from './amqp.ts';

export interface OutboxRelayOptions {
  db: Kysely<MessagingTables>;
  listener: pg.Client;
  channel: ConfirmChannel;
  exchange: string;
  batchSize: number;
  /** After a batch that was not full, wait up to this long before the next claim, so that rows gather (see lingerAfter). */
  lingerMs: number;
  pollIntervalMs: number;
  /** Most a batch waits for its publisher confirms before it is rolled back and the channel given up. */
  confirmTimeoutMs: number;
  /** Failed publishes of one row (unroutable, oversize, unencodable) before it is set aside. */
  maxAttempts: number;
  /** Declares the exchange, queues and bindings again: a returned message may mean a queue was deleted. */
  redeclareTopology: () => Promise<void>;
  /** Called when the channel can no longer be trusted (confirms that never came): the session starts anew. */
  onChannelLost: (error: unknown) => void;
  /** Tells readiness what is wrong (a string) or that all is well again (null). */
  report: (problem: string | null) => void;
  logger: Logger;
}

export interface RelayedBatch {
  claimed: number;
  /** Rows the broker confirmed, marked sent. */
  confirmed: number;
  failed: PublishOutcome['failed'];
  setAside: string[];
}

/**
 * One transaction per batch: claim unsent rows (skipping rows another relay
 * holds), publish them all with confirms, mark the confirmed ones sent and
 * count a failure against each that failed on its own, commit. A crash or a
 * confirm timeout before the commit rolls the claim back and the rows go out
 * again; the consumers' inboxes absorb the duplicates. The transaction is open
 * at most the confirm timeout plus a few statements, each under the pool's
 * statement timeout (and idle_in_transaction_session_timeout as the backstop).
 * The claim is meant for a pool made with RELAY_SESSION_SETTINGS (outbox.ts).
 */
export async function relayBatch(
  options: Pick<OutboxRelayOptions, 'db' | 'channel' | 'exchange' | 'batchSize' | 'confirmTimeoutMs' | 'maxAttempts'>,
): Promise<RelayedBatch> {
  return options.db.transaction().execute(async (trx) => {
    const rows = await claimBatch(trx, options.batchSize);
    if (rows.length === 0) return { claimed: 0, confirmed: 0, failed: [], setAside: [] };
    // Each row's publish is a span of its order's trace, a child of the row's traceparent;
    // the message carries the span's own, so the consumer's apply is its child in turn.
    const spans = rows.map((row) => startSpan(`publish ${row.type}`, 'producer', row.traceparent));
    const messages = rows.map((row, i) => (spans[i] ? { ...row, traceparent: spans[i].traceparent } : row));
    const outcome = await publishConfirmed(options.channel, options.exchange, messages, options.confirmTimeoutMs).catch(
      (error: unknown) => {
        for (const span of spans) span?.end(error);
        throw error;
      },
    );
    const failures = new Map(outcome.failed.map(({ id, error }) => [id, error]));
    rows.forEach((row, i) => spans[i]?.end(failures.get(row.id)));
    reachFaultPoint('relay.after-publish');
    if (outcome.confirmed.length > 0) await markSent(trx, outcome.confirmed);
    const setAside =
      outcome.failed.length > 0 ? await recordPublishFailures(trx, outcome.failed, options.maxAttempts) : [];
    return { claimed: rows.length, confirmed: outcome.confirmed.length, failed: outcome.failed, setAside };
  });
}

// A stopping relay lets the batch in hand finish this long before it stops waiting for it.
const STOP_GRACE_MS = 3000;

// The wait before claiming again after a batch some of which no queue took, doubling each time
// in a row, up to the cap (below STOP_GRACE_MS): a queue deleted under its consumer comes back
// when that consumer notices (its session starts anew and declares it, within a second or two),
// and the rows' OUTBOX_MAX_ATTEMPTS should span that rather than be spent in a few milliseconds.
const UNROUTABLE_BACKOFF_MS = 250;
const UNROUTABLE_BACKOFF_CAP_MS = 2000;

export async function startOutboxRelay(options: OutboxRelayOptions): Promise<Stoppable> {
  const { logger } = options;
  let stopping = false;
  let notified = true;
  let wake: (() => void) | undefined;
  const wakeUp = () => {
    notified = true;
    wake?.();
  };
  const waitForWork = () =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, options.pollIntervalMs);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    }).finally(() => (wake = undefined));

  options.listener.on('notification', wakeUp);
  await options.listener.query(`LISTEN ${OUTBOX_CHANNEL}`);

  const loop = (async () => {
    let failures = 0;
    let unroutable = 0;
    while (!stopping) {
      if (!notified) await waitForWork();
      notified = false;
      if (stopping) break;
      try {
        const batch = await relayBatch(options);
        failures = 0;
        options.report(null);
        if (batch.claimed > 0) outboxBatchRows.observe(batch.claimed);
        outboxPublished.inc(batch.confirmed);
        outboxSetAside.inc(batch.setAside.length);
        if (batch.claimed > 0) logger.debug('outbox.published', { count: batch.claimed - batch.failed.length });
        for (const { id, error } of batch.failed) logger.warn('outbox.publish_failed', { message_id: id, error });
        for (const id of batch.setAside)
          logger.error('outbox.set_aside', { message_id: id, max_attempts: options.maxAttempts });
        if (batch.failed.some(({ reason }) => reason === 'unroutable')) {
          // A binding or a queue may have been deleted under us: declare what this process may
          // before the next claim (declareTopology). Where that fails, the session starts anew
          // (and declares it) rather than failing every row.
          await options.redeclareTopology().catch((error: unknown) => {
            options.onChannelLost(error);
            throw error;
          });
          logger.warn('outbox.topology_redeclared');
          unroutable += 1;
          await sleep(Math.min(UNROUTABLE_BACKOFF_MS * 2 ** (unroutable - 1), UNROUTABLE_BACKOFF_CAP_MS));
        } else unroutable = 0;
        // A full batch means more may be waiting: go again without waiting for a wake-up.
        if (batch.claimed === options.batchSize || batch.failed.length > 0) notified = true;
        else if (batch.claimed > 0) await lingerAfter(batch.claimed, options.lingerMs);
      } catch (error) {
        failures += 1;
        logger.error('outbox.relay_failed', { error, failures });
        options.report(`outbox relay failing: ${(error as Error).message}`);
        if ((error as Error).name === 'TimeoutError') options.onChannelLost(error);
        notified = true;
        await sleep(Math.min(100 * 2 ** failures, 5000));
      }
    }
  })();

  logger.info('outbox.relay_started', { batch_size: options.batchSize, poll_interval_ms: options.pollIntervalMs });
  return {
    async stop() {
      stopping = true;
      wake?.();
      // A batch awaiting confirms from a blocked broker settles when its channel is closed after this.
      await pTimeout(loop, { milliseconds: STOP_GRACE_MS, message: false });
      options.listener.off('notification', wakeUp);
      logger.info('outbox.relay_stopped');
    },
  };
}
