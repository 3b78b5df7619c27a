import { setTimeout as sleep } from 'node:timers/promises';

// What Atomics.wait blocks on: nothing ever notifies it, so a wait lasts its timeout.
const napCell = new Int32Array(new SharedArrayBuffer(4));

/**
 * What a relay or an inbox consumer waits after a batch that was not full,
 * before its next.
 *
 * With `napMs` 0 (the default): 1 ms per row the batch had, up to `maxMs`,
 * asleep on a timer. A transaction of a few rows costs nearly what a full one
 * costs, so under steady load the wait lets the next batch gather (at 1,000
 * rows/s it reaches maxMs and batches grow to maxMs worth of rows); one order
 * at a time waits 1 ms a hop. The process still watches its input meanwhile:
 * each arrival wakes it, which at low rates is most of what an order costs.
 *
 * With `napMs` > 0 (WAKEUP_COALESCING_MS): the whole process stops watching
 * its input for `napMs`, its event loop blocked (Atomics.wait, which Node
 * allows on the main thread), so that what arrives meanwhile — deliveries,
 * confirms, query results, notifications — waits in the kernel's socket
 * buffers and is taken in one wake-up. Everything else in the process waits
 * too, up to napMs each time: a health probe, a timer, the other loops' replies.
 * It trades latency for CPU (docs/performance.md, "Wake-ups coalesced").
 *
 * Resolves when the wait is over; never rejects.
 */
export function lingerAfter(rows: number, maxMs: number, napMs = 0): Promise<void> {
  if (napMs <= 0) return sleep(Math.min(rows, maxMs));
  Atomics.wait(napCell, 0, 0, napMs);
  return Promise.resolve();
}
