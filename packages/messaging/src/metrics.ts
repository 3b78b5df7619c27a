// The outbox's and the inbox's metrics (docs/ARCHITECTURE.md, "Metrics"): what a
// worker published and took in, what it absorbed as duplicates or gave up on,
// and how far behind its outbox is.
import type { Kysely } from 'kysely';
import pTimeout from 'p-timeout';
import { prometheus } from '@gozon/platform';
import { readOutboxBacklog } from './outbox.ts';
import type { MessagingTables } from './schema.ts';

export const outboxPublished = new prometheus.Counter({
  name: 'gozon_outbox_published_total',
  help: 'Outbox rows published and confirmed by the broker',
});

export const outboxBatchRows = new prometheus.Histogram({
  name: 'gozon_outbox_batch_rows',
  help: 'Rows claimed per outbox transaction (batches that claimed any)',
  buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
});

export const outboxSetAside = new prometheus.Counter({
  name: 'gozon_outbox_set_aside_total',
  help: 'Outbox rows set aside after OUTBOX_MAX_ATTEMPTS failed publishes',
});

export const inboxApplied = new prometheus.Counter({
  name: 'gozon_inbox_applied_total',
  help: 'Messages applied through the inbox, committed, by queue',
  labelNames: ['queue'],
});

export const inboxDuplicates = new prometheus.Counter({
  name: 'gozon_inbox_duplicates_total',
  help: 'Deliveries the inbox recognised as already applied (a redelivery or a second publish), committed, by queue',
  labelNames: ['queue'],
});

export const inboxDeadLettered = new prometheus.Counter({
  name: 'gozon_inbox_dead_lettered_total',
  help: 'Messages moved to their dead-letter queue by the consumer, by queue and reason (malformed, poison, failed)',
  labelNames: ['queue', 'reason'],
});

export const inboxRetries = new prometheus.Counter({
  name: 'gozon_inbox_retries_total',
  help: 'Inbox database work tried again after a transient failure, by queue and step (apply: the inbox transaction; read_attempts, forget_attempts: the poison-message counts)',
  labelNames: ['queue', 'step'],
});

// Well within Prometheus's scrape timeout: a database that is slow to answer leaves the two
// gauges NaN for that scrape rather than fail the scrape of everything else.
const BACKLOG_READ_LIMIT_MS = 1000;

/**
 * Gauges of the outbox's backlog, read from `db` at each scrape: the rows not yet
 * published (set-aside rows apart) and how old the oldest of them is, in seconds
 * (0 with none); every replica reads the same table, so take their max, not their
 * sum. A read that fails or takes over a second leaves them NaN.
 */
export function watchOutbox(db: Kysely<MessagingTables>): void {
  // A scrape collects every metric at once: both gauges share the one query in flight.
  let reading: Promise<{ unsent: number; oldestSeconds: number } | undefined> | undefined;
  const read = () =>
    (reading ??= pTimeout(readOutboxBacklog(db), { milliseconds: BACKLOG_READ_LIMIT_MS })
      .catch(() => undefined)
      .finally(() => (reading = undefined)));
  new prometheus.Gauge({
    name: 'gozon_outbox_unsent',
    help: 'Outbox rows not yet published (set-aside rows apart)',
    async collect() {
      this.set((await read())?.unsent ?? Number.NaN);
    },
  });
  new prometheus.Gauge({
    name: 'gozon_outbox_oldest_unsent_age_seconds',
    help: 'Age of the oldest outbox row not yet published, 0 with none: how far behind the relay is',
    async collect() {
      this.set((await read())?.oldestSeconds ?? Number.NaN);
    },
  });
}

/** A gauge of whether this worker's session with the broker is up (1) or not (0), read at each scrape. */
export function watchBroker(connected: () => boolean): void {
  new prometheus.Gauge({
    name: 'gozon_broker_connected',
    help: 'Whether the worker has its broker session (connection, channels, consumers) up: 1, or 0',
    collect() {
      this.set(connected() ? 1 : 0);
    },
  });
}
