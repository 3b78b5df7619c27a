import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import type pg from 'pg';
import type { Faults, Logger } from '@gozon/runtime';
import { claimBatch, markSent, preferIndexScan, purgeSent } from './outbox.ts';
import { startPurging } from './purge.ts';
import { publishConfirmed } from './publish.ts';
import { lingerAfter } from './linger.ts';
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
  retentionSeconds: number;
  logger: Logger;
  faults: Faults;
}

export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * One transaction per batch: claim unsent rows (skipping rows another relay
 * holds), publish them all with confirms, mark them sent, commit. A crash
 * anywhere before the commit rolls the claim back and the rows go out again;
 * the consumers' inboxes absorb the duplicates.
 */
export async function relayBatch(options: Pick<OutboxRelayOptions, 'db' | 'channel' | 'exchange' | 'batchSize' | 'faults'>): Promise<number> {
  return options.db.transaction().execute(async (trx) => {
    await preferIndexScan(trx);
    const rows = await claimBatch(trx, options.batchSize);
    if (rows.length === 0) return 0;
    await publishConfirmed(options.channel, options.exchange, rows);
    options.faults('relay.after-publish');
    await markSent(
      trx,
      rows.map((row) => row.id),
    );
    return rows.length;
  });
}

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
    while (!stopping) {
      if (!notified) await waitForWork();
      notified = false;
      if (stopping) break;
      try {
        const published = await relayBatch(options);
        failures = 0;
        if (published > 0) logger.debug('outbox.published', { count: published });
        // A full batch means more may be waiting: go again without waiting for a wake-up.
        if (published === options.batchSize) notified = true;
        else if (published > 0) await lingerAfter(published, options.lingerMs);
      } catch (error) {
        failures += 1;
        logger.error('outbox.relay_failed', { error, failures });
        notified = true;
        await sleep(Math.min(100 * 2 ** failures, 5000));
      }
    }
  })();

  const purging = startPurging({
    table: 'outbox_message',
    deleteChunk: (limit) => purgeSent(options.db, options.retentionSeconds, limit),
    intervalMs: 1000,
    logger,
  });

  logger.info('outbox.relay_started', { batch_size: options.batchSize, poll_interval_ms: options.pollIntervalMs });
  return {
    async stop() {
      stopping = true;
      wake?.();
      await Promise.all([loop, purging.stop()]);
      options.listener.off('notification', wakeUp);
      logger.info('outbox.relay_stopped');
    },
  };
}
