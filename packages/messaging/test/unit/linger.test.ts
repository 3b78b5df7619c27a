import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { lingerAfter } from '../../src/linger.ts';

const linger = suite('the wait after a batch that was not full');

const WRITES = 20;
const GAP_MS = 5;
// Longer than the writer takes to send them all (WRITES × GAP_MS), with room for a slow machine.
const NAP_MS = 500;
// The timer's linger, different from the nap so that neither can pass for the other.
const MAX_LINGER_MS = 5;

/**
 * A writer on a thread of its own sends WRITES one-byte writes, GAP_MS apart
 * and each in its own segment (no Nagle), to a socket that this thread reads;
 * at the first byte, this thread lingers as a relay does after a batch of one.
 * Answers how many reads it took to get all the bytes, and how long the
 * linger held the thread (ms).
 */
async function readsAfterLingering(napMs: number): Promise<{ reads: number; heldMs: number }> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const writer = new Worker(
    `const { connect } = require('node:net');
     const { port, writes, gapMs } = require('node:worker_threads').workerData;
     const socket = connect({ port, host: '127.0.0.1', noDelay: true }, () => {
       let sent = 0;
       const timer = setInterval(() => {
         socket.write('x');
         if (++sent === writes) { clearInterval(timer); socket.end(); }
       }, gapMs);
     });`,
    { eval: true, workerData: { port, writes: WRITES, gapMs: GAP_MS } },
  );
  try {
    const [socket] = (await once(server, 'connection')) as [Socket];
    let reads = 0;
    let bytes = 0;
    let heldMs = 0;
    socket.on('data', (chunk: Buffer) => {
      reads += 1;
      bytes += chunk.length;
      if (reads > 1) return;
      const started = performance.now();
      void lingerAfter(1, MAX_LINGER_MS, napMs);
      heldMs = performance.now() - started;
    });
    await once(socket, 'end');
    assert.is(bytes, WRITES, 'every byte read');
    return { reads, heldMs };
  } finally {
    await writer.terminate();
    server.close();
  }
}

linger(
  'without WAKEUP_COALESCING_MS, the process watches its input while it lingers: the writes wake it again and again',
  async () => {
    const { reads } = await readsAfterLingering(0);
    // Each write is a segment of its own. A loaded machine merges some (5 reads of 20 seen at a load
    // of 9 on 2 cores), but not all of the last 19, sent over 95 ms, into one.
    assert.ok(reads > 2, `${reads} reads of ${WRITES} writes`);
  },
);

linger('with it, the process naps for napMs, and what arrives meanwhile is taken in one wake-up', async () => {
  const { reads, heldMs } = await readsAfterLingering(NAP_MS);
  assert.ok(heldMs >= NAP_MS - 1, `held ${heldMs} ms`);
  assert.ok(reads <= 2, `${reads} reads: the first byte, then all the rest at once`);
});

/** Whether `linger` still waits once the microtasks queued so far have run: a nap's wait is over, a timer's is not. */
async function stillWaiting(linger: Promise<void>): Promise<boolean> {
  let over = false;
  void linger.then(() => (over = true));
  await Promise.resolve();
  await Promise.resolve();
  return !over;
}

/** Lingers as a loop does after a batch of one; answers how long that held the thread (ms) and the wait. */
function lingerTimed(): { heldMs: number; linger: Promise<void> } {
  const started = performance.now();
  const linger = lingerAfter(1, MAX_LINGER_MS, NAP_MS);
  return { heldMs: performance.now() - started, linger };
}

linger('one nap at a time: a batch that ends within napMs of the last nap lingers on the timer', async () => {
  await sleep(NAP_MS + 10); // past the window of the nap of the test before
  const first = lingerTimed();
  assert.ok(first.heldMs >= NAP_MS - 1, `the first napped: held ${first.heldMs} ms`);
  assert.not.ok(await stillWaiting(first.linger), 'its wait was over with the nap');
  const second = lingerTimed();
  assert.ok(await stillWaiting(second.linger), 'the second, right after, lingers on the timer');
  await second.linger;
  await sleep(NAP_MS + 10);
  const third = lingerTimed();
  assert.ok(third.heldMs >= NAP_MS - 1, `once napMs has passed, it naps again: held ${third.heldMs} ms`);
});

linger.run();
