/** What a BoundedQueue tells of an item pushed: taken, or refused because the queue is full. */
export type PushResult = 'queued' | 'full';

export interface BoundedQueue<T> {
  /** Queues an item for `write`; 'full' (and the item is dropped) when `maxQueued` wait already. */
  push(item: T): PushResult;
  /** Items waiting, not counting the one being written. */
  waiting(): number;
}

/**
 * Writes items one at a time, in order, each after the previous write resolved;
 * at most `maxQueued` wait meanwhile. A consumer that stops reading (its writes
 * never resolve) costs at most that many items, never more: the caller drops it
 * on 'full'. A write that rejects stops the queue and is passed to `onError`.
 */
export function createBoundedQueue<T>(
  write: (item: T) => Promise<void>,
  maxQueued: number,
  onError: (error: unknown) => void,
): BoundedQueue<T> {
  const items: T[] = [];
  let writing = false;
  let failed = false;
  const drain = async () => {
    writing = true;
    try {
      while (items.length > 0 && !failed) await write(items.shift()!);
    } catch (error) {
      failed = true;
      onError(error);
    } finally {
      writing = false;
    }
  };
  return {
    push(item) {
      if (items.length >= maxQueued) return 'full';
      items.push(item);
      if (!writing && !failed) void drain();
      return 'queued';
    },
    waiting: () => items.length,
  };
}
