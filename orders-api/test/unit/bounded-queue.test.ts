import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createBoundedQueue } from '../../src/bounded-queue.ts';

const queue = suite('order events: what a stream holds for a slow client');

queue('items are written one at a time, in order, each after the last was taken', async () => {
  const written: number[] = [];
  const q = createBoundedQueue<number>(
    async (item) => {
      await new Promise((resolve) => setImmediate(resolve));
      written.push(item);
    },
    10,
    () => {},
  );
  for (const item of [1, 2, 3]) assert.is(q.push(item), 'queued');
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(written, [1, 2, 3]);
  assert.is(q.waiting(), 0);
});

queue('a client that reads nothing holds at most the bound; the next item is refused', () => {
  const q = createBoundedQueue<number>(
    () => new Promise<void>(() => {}),
    3,
    () => {},
  );
  const results = [1, 2, 3, 4, 5].map((item) => q.push(item));
  // The first is being written; three wait; the fifth finds the queue full.
  assert.equal(results, ['queued', 'queued', 'queued', 'queued', 'full']);
  assert.is(q.waiting(), 3);
});

queue('a write that fails (the client left) stops the queue and is reported once', async () => {
  const errors: unknown[] = [];
  let writes = 0;
  const q = createBoundedQueue<number>(
    async () => {
      writes += 1;
      throw new Error('closed');
    },
    5,
    (error) => errors.push(error),
  );
  q.push(1);
  q.push(2);
  await new Promise((resolve) => setTimeout(resolve, 10));
  q.push(3);
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.is(errors.length, 1);
  assert.is(writes, 1);
});

queue.run();
