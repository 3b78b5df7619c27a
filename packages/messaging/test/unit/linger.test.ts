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

/**
 * A writer on a thread of its own sends WRITES one-byte writes, GAP_MS apart
 * and each in its own segment (no Nagle), to a socket that this thread reads;
 * at the first byte, this thread lingers as a relay does after a batch of one.
 * Answers how many reads it took to get all the bytes.
 */
async function readsAfterLingering(napMs: number): Promise<number> {
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
    socket.on('data', (chunk: Buffer) => {
      reads += 1;
      bytes += chunk.length;
      if (reads === 1) void lingerAfter(1, NAP_MS, napMs);
    });
    await once(socket, 'end');
    assert.is(bytes, WRITES, 'every byte read');
    return reads;
  } finally {
    await writer.terminate();
    server.close();
  }
}

linger('with WAKEUP_COALESCING_MS, what arrives during the nap is taken in one wake-up', async () => {
  const reads = await readsAfterLingering(NAP_MS);
  assert.ok(reads <= 2, `${reads} reads: the first byte, then all the rest at once`);
});

linger('without it, the process watches its input while it lingers: each write wakes it', async () => {
  const reads = await readsAfterLingering(0);
  // Each write is a segment of its own; a busy machine may merge a few, not most.
  assert.ok(reads > WRITES / 2, `${reads} reads of ${WRITES} writes`);
});

linger.run();
