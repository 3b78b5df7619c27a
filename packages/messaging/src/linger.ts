import { setTimeout as sleep } from 'node:timers/promises';

// What Atomics.wait blocks on: nothing ever notifies it, so a wait lasts its timeout.
const napCell = new Int32Array(new SharedArrayBuffer(4));
// When the process's last nap ended (performance.now()), for the one-nap-at-a-time rule below.
let lastNapEnded = Number.NEGATIVE_INFINITY;

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
 * too: a health probe, a timer, the other loops' replies. One nap at a time:
 * loops whose batches end together (the relay's and each consumer's) would
 * otherwise nap back to back and block the process for a multiple of napMs,
 * so a loop that ends its batch within napMs of the last nap's end lingers
 * on the timer instead. The process is thus never blocked longer than napMs at
 * once, nor more than half of the time. It trades latency for CPU
 * (docs/performance.md, "Wake-ups coalesced").
 *
 * Resolves when the wait is over; never rejects.
 */
export function lingerAfter(rows: number, maxMs: number, napMs = 0): Promise<void> {
  // Written so that a napMs that is not a positive finite number never naps: Atomics.wait would wait for ever.
  if (!(napMs > 0 && Number.isFinite(napMs)) || performance.now() - lastNapEnded < napMs)
    return sleep(Math.min(rows, maxMs));
  Atomics.wait(napCell, 0, 0, napMs);
  lastNapEnded = performance.now();
  return Promise.resolve();
}
