import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@gozon/platform';
import type { Stoppable } from './relay.ts';

const CHUNK = 1000;

/**
 * Deletes a chunk at a time for as long as full chunks come back, so a purge
 * keeps up with any rate (a fixed 5,000 outbox rows every 30 s fell behind
 * above 167 orders/s), and no statement holds many locks. Answers how many
 * rows went.
 */
export async function purgeInChunks(deleteChunk: (limit: number) => Promise<number>, chunk: number, stopped: () => boolean): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = await deleteChunk(chunk);
    total += deleted;
    if (deleted < chunk || stopped()) return total;
  }
}

/** Purges every intervalMs until stopped: a little steady work rather than bursts that hold up the orders. */
export function startPurging(options: { table: string; deleteChunk: (limit: number) => Promise<number>; intervalMs: number; logger: Logger }): Stoppable {
  const { logger, table } = options;
  let stopping = false;
  const timer = new AbortController();
  const purging = (async () => {
    while (!stopping) {
      try {
        const purged = await purgeInChunks(options.deleteChunk, CHUNK, () => stopping);
        if (purged > 0) logger.debug('purge.done', { table, count: purged });
      } catch (error) {
        logger.warn('purge.failed', { table, error });
      }
      await sleep(options.intervalMs, undefined, { signal: timer.signal }).catch(() => {});
    }
  })();
  return {
    async stop() {
      stopping = true;
      timer.abort();
      await purging;
    },
  };
}
