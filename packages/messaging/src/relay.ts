import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import type pg from 'pg';
import { reachFaultPoint, startSpan, type Logger, type Stoppable } from '@gozon/platform';
import pTimeout from 'p-timeout';
import { recordPublishFailures, relayOutbox, releaseLeases } from './outbox.ts';
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
  /** After such a batch, block the whole process this long instead (0: off; see lingerAfter). */
  napMs?: number;
  pollIntervalMs: number;
  /** Most a batch waits for its publisher confirms before its rows are freed and the channel given up; the lease is twice this plus the poll interval, the linger and the nap. */
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
  /** Ids the broker confirmed (left in Unmarked for the relay's next call of relayOutbox to mark sent). */
  confirmed: string[];
  failed: PublishOutcome['failed'];
  setAside: string[];
}

type BatchOptions = Pick<
  OutboxRelayOptions,
  'db' | 'channel' | 'exchange' | 'batchSize' | 'confirmTimeoutMs' | 'maxAttempts'
> & {
  /** How long a claim keeps other relays off its rows (ms): longer than a publish and the wait for the next call. */
  leaseMs: number;
};

/** What a relay owes the outbox: ids the broker confirmed that no call has marked sent yet. */
export interface Unmarked {
  ids: readonly string[];
}

/**
 * One batch, one database round trip (docs/ARCHITECTURE.md, "One call per
 * relay batch"): relayOutbox marks `unmarked.ids` (the previous batch's
 * confirmed ids) sent and claims unsent rows under a lease; they are published
 * with confirms; the confirmed ids go to `unmarked` at once, for the next call
 * to mark, whatever fails after; a failure that is a row's own is counted
 * against it (and frees it). A crash before that
 * call leaves the rows leased: they go out again once the lease lapses, and the
 * consumers' inboxes absorb the copies. A publish the channel failed as a whole
 * frees its rows at once.
 */
export async function relayBatch(options: BatchOptions, unmarked: Unmarked): Promise<RelayedBatch> {
  const rows = await relayOutbox(options.db, unmarked.ids, options.batchSize, options.leaseMs);
  unmarked.ids = [];
  if (rows.length === 0) return { claimed: 0, confirmed: [], failed: [], setAside: [] };
  // Each row's publish is a span of its order's trace, a child of the row's traceparent;
  // the message carries the span's own, so the consumer's apply is its child in turn.
  const spans = rows.map((row) => startSpan(`publish ${row.type}`, 'producer', row.traceparent));
  const messages = rows.map((row, i) => (spans[i] ? { ...row, traceparent: spans[i].traceparent } : row));
  const outcome = await publishConfirmed(options.channel, options.exchange, messages, options.confirmTimeoutMs).catch(
    async (error: unknown) => {
      for (const span of spans) span?.end(error);
      // Best effort: where the database fails this too, the lease lapses instead.
      await releaseLeases(
        options.db,
        rows.map((row) => row.id),
      ).catch(() => undefined);
      throw error;
    },
  );
  const failures = new Map(outcome.failed.map(({ id, error }) => [id, error]));
  rows.forEach((row, i) => spans[i]?.end(failures.get(row.id)));
  unmarked.ids = outcome.confirmed;
  reachFaultPoint('relay.after-publish');
  const setAside =
    outcome.failed.length > 0 ? await recordPublishFailures(options.db, outcome.failed, options.maxAttempts) : [];
  return { claimed: rows.length, confirmed: outcome.confirmed, failed: outcome.failed, setAside };
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

  // A batch is published within one confirm timeout (or its rows freed), and its ids marked by
  // the next call, at the latest a linger (or a nap) and a poll interval later (a longer wait, the
  // unroutable backoff, marks them first): a live relay's lease does not lapse first. If it did,
  // the cost would be a copy of each row, not a loss.
  const leaseMs = 2 * options.confirmTimeoutMs + options.pollIntervalMs + options.lingerMs + (options.napMs ?? 0);
  // Kept when a call fails: marking a row twice changes nothing.
  const unmarked: Unmarked = { ids: [] };
  const markNow = async () => {
    if (unmarked.ids.length === 0) return;
    await relayOutbox(options.db, unmarked.ids, 0, leaseMs);
    unmarked.ids = [];
  };
  const loop = (async () => {
    let failures = 0;
    let unroutable = 0;
    while (!stopping) {
      if (!notified) await waitForWork();
      notified = false;
      if (stopping) break;
      try {
        const batch = await relayBatch({ ...options, leaseMs }, unmarked);
        failures = 0;
        options.report(null);
        if (batch.claimed > 0) outboxBatchRows.observe(batch.claimed);
        outboxPublished.inc(batch.confirmed.length);
        outboxSetAside.inc(batch.setAside.length);
        if (batch.claimed > 0) logger.debug('outbox.published', { count: batch.claimed - batch.failed.length });
        for (const { id, error } of batch.failed) logger.warn('outbox.publish_failed', { message_id: id, error });
        for (const id of batch.setAside)
          logger.error('outbox.set_aside', { message_id: id, max_attempts: options.maxAttempts });
        if (batch.failed.some(({ reason }) => reason === 'unroutable')) {
          // A binding or a queue may have been deleted under us: declare what this process may
          // before the next claim (declareTopology). Where that fails, the session starts anew
          // (and declares it) rather than failing every row. The confirmed are marked first: the
          // waits below could outlast their lease.
          await markNow();
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
        else if (batch.claimed > 0) await lingerAfter(batch.claimed, options.lingerMs, options.napMs);
      } catch (error) {
        failures += 1;
        logger.error('outbox.relay_failed', { error, failures });
        options.report(`outbox relay failing: ${(error as Error).message}`);
        if ((error as Error).name === 'TimeoutError') options.onChannelLost(error);
        notified = true;
        await sleep(Math.min(100 * 2 ** failures, 5000));
      }
    }
    await markNow().catch((error: unknown) =>
      // Its rows go out again once their lease lapses.
      logger.warn('outbox.mark_failed', { error, count: unmarked.ids.length }),
    );
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
