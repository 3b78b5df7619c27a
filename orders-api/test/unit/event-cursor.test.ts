import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Order } from '@gozon/orders';
import { catchUpSince, eventIdOf } from '../../src/event-cursor.ts';

const cursor = suite('order events: the Last-Event-ID cursor');

const NOW = new Date('2025-06-01T12:00:00.000Z');
const LIMITS = { lookbackMs: 60_000, maxAgeMs: 24 * 3600_000 };

function orderChangedAt(updatedAt: Date): Order {
  return {
    id: '0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a7b',
    user_id: 'alice',
    amount: 100n,
    description: 'tea',
    status: 'FINISHED',
    cancel_reason: null,
    created_at: updatedAt,
    updated_at: updatedAt,
  };
}

cursor('a reconnect with the id of the last event gets every change from a lookback before it', () => {
  const seen = new Date(NOW.getTime() - 5_000);
  const since = catchUpSince(eventIdOf(orderChangedAt(seen)), NOW, LIMITS);
  assert.equal(since, new Date(seen.getTime() - 60_000));
});

cursor('no id, a malformed one, one too old or one from the future get a snapshot', () => {
  for (const id of [undefined, '', 'abc', '12e5', '-5', '1'.repeat(16), ' 1700000000000']) {
    assert.is(catchUpSince(id, NOW, LIMITS), undefined, `id ${JSON.stringify(id)}`);
  }
  const dayAndASecond = String(NOW.getTime() - 24 * 3600_000 - 1000);
  assert.is(catchUpSince(dayAndASecond, NOW, LIMITS), undefined, 'older than a day');
  assert.is(catchUpSince(String(NOW.getTime() + 1000), NOW, LIMITS), undefined, 'later than now');
});

cursor.run();
