import { setTimeout as sleep } from 'node:timers/promises';

/**
 * What a relay or an inbox consumer waits after a batch that was not full,
 * before its next: 1 ms per row the batch had, up to maxMs. A transaction of a
 * few rows costs nearly what a full one costs, so under steady load the wait
 * lets the next batch gather (at 1,000 rows/s it reaches maxMs and batches
 * grow to maxMs worth of rows); one order at a time waits 1 ms a hop.
 */
export function lingerAfter(rows: number, maxMs: number): Promise<void> {
  return sleep(Math.min(rows, maxMs));
}
