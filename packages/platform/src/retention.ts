import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from './logger.ts';
import type { Stoppable } from './shutdown.ts';

// Retention: the tables that grow with every message or request (sent outbox
// rows, inbox message ids, Idempotency-Keys) lose their rows past their
// retention, each table on an interval of its own, through this one scheduler.
// Each table's delete statement stays beside its table; here is only when, and
// how much at a time.

/** Most rows one delete statement takes, so that no statement holds many locks. */
export const PURGE_CHUNK = 1000;

export interface PurgeJob {
  /** The table it purges, as the logs name it. */
  table: string;
  /** Wait from the end of one run to the start of the next, in ms. */
  intervalMs: number;
  /** Deletes at most `limit` rows past their retention (skipping rows another replica's purge holds); answers how many went. */
  deleteChunk: (limit: number) => Promise<number>;
}

/**
 * Deletes a chunk at a time for as long as full chunks come back, or until
 * `stopped` says so, so that a purge keeps up with any rate (a fixed 5,000
 * outbox rows every 30 s fell behind above 167 orders/s). Answers how many rows
 * went; a chunk that throws rejects with its error.
 */
export async function purgeInChunks(
  deleteChunk: (limit: number) => Promise<number>,
  chunk: number,
  stopped: () => boolean,
): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = await deleteChunk(chunk);
    total += deleted;
    if (deleted < chunk || stopped()) return total;
  }
}

/**
 * Runs every job at once, then again intervalMs after each run ends, each job
 * on its own and never overlapping itself: a little steady work rather than
 * bursts that hold up the orders. A run deletes chunks of PURGE_CHUNK rows
 * until one comes back short, and logs `retention.purged` (debug, with the
 * table and count) if it deleted any; a run that fails logs `retention.failed`
 * (warn, with the table and error) and the job tries again on its next
 * interval. stop() cancels the waits, lets a chunk in flight finish (no other
 * starts), and resolves once every job has stopped.
 */
export function startRetention(jobs: PurgeJob[], logger: Logger): Stoppable {
  let stopping = false;
  const waits = new AbortController();
  const runJob = async ({ table, intervalMs, deleteChunk }: PurgeJob) => {
    while (!stopping) {
      try {
        const purged = await purgeInChunks(deleteChunk, PURGE_CHUNK, () => stopping);
        if (purged > 0) logger.debug('retention.purged', { table, count: purged });
      } catch (error) {
        logger.warn('retention.failed', { table, error });
      }
      await sleep(intervalMs, undefined, { signal: waits.signal }).catch(() => {});
    }
  };
  const running = Promise.all(jobs.map(runJob));
  return {
    async stop() {
      stopping = true;
      waits.abort();
      await running;
    },
  };
}
