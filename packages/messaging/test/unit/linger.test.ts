import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { lingerAfter } from '../../src/linger.ts';

const linger = suite('the wait after a batch that was not full');

const WRITES = 20;
const GAP_MS = 2;
// Longer than the writer takes to send them all (WRITES × GAP_MS), with room for a slow machine.
const NAP_MS = 300;
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
  'without WAKEUP_COALESCING_MS, the process watches its input while it lingers: each write wakes it',
  async () => {
    const { reads } = await readsAfterLingering(0);
    // Each write is a segment of its own; a busy machine may merge a few, not most.
    assert.ok(reads > WRITES / 2, `${reads} reads of ${WRITES} writes`);
  },
);

linger('with it, the process naps for napMs, and what arrives meanwhile is taken in one wake-up', async () => {
  const { reads, heldMs } = await readsAfterLingering(NAP_MS);
  assert.ok(heldMs >= NAP_MS - 1, `held ${heldMs} ms`);
  assert.ok(reads <= 2, `${reads} reads: the first byte, then all the rest at once`);
});

linger('one nap at a time: a loop whose batch ends within napMs of the last nap lingers on the timer', async () => {
  // The nap of the test before ended moments ago: this one must not block the thread again.
  const started = performance.now();
  const linger = lingerAfter(1, MAX_LINGER_MS, NAP_MS);
  assert.ok(performance.now() - started < NAP_MS / 2, 'it did not block');
  await linger;
  assert.ok(performance.now() - started >= 1, 'it waited on the timer: 1 ms for its one row');
});

linger.run();
