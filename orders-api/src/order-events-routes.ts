import { Hono } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import type { Kysely } from 'kysely';
import { HttpError, methodNotAllowed, requireUserId } from '@gozon/http';
import { listOrdersChangedSince, listOrdersOfUser, type Order, type OrdersDb } from '@gozon/orders';
import type { Logger } from '@gozon/platform';
import type { OrdersApiConfig } from './app.ts';
import { createBoundedQueue } from './bounded-queue.ts';
import { catchUpSince, eventIdOf } from './event-cursor.ts';
import type { OrderChanges, OrderWatcher } from './order-change-feed.ts';
import { toOrderJson } from './orders-routes.ts';

/** Orders a snapshot sends: as many as the list answers by default. */
const SNAPSHOT_SIZE = 100;
/** Most changes a catch-up sends, the latest kept: as many as the list answers at most. */
const CATCH_UP_SIZE = 500;
/** A Last-Event-ID older than this gets a snapshot instead of a catch-up. */
const MAX_CATCH_UP_AGE_MS = 24 * 3600 * 1000;

type StreamItem = { order: Order } | 'heartbeat';

/**
 * GET /orders/events/{user_id}: the user's orders as Server-Sent Events
 * (`event: order`, `id:` see event-cursor.ts, `data:` the order as
 * /orders/status answers it). First what the client may have missed (a
 * catch-up after its Last-Event-ID, or a snapshot), then each change as it
 * is committed; a comment line every ORDER_STREAM_HEARTBEAT_MS. Refused
 * before the stream opens: a bad user id (400), ORDER_STREAMS_MAX streams
 * already open here or changes not heard now (503, Retry-After).
 */
export function orderEventsRoutes({
  db,
  logger,
  config,
  changes,
}: {
  db: Kysely<OrdersDb>;
  logger: Logger;
  config: OrdersApiConfig;
  changes: OrderChanges;
}) {
  const events = new Hono();
  let open = 0;

  events.get('/:user_id', async (c) => {
    const userId = requireUserId(c.req.param('user_id'));
    if (open >= config.ORDER_STREAMS_MAX)
      throw new HttpError(503, 'TOO_MANY_STREAMS', 'this replica holds all the streams it may; try again', {
        'Retry-After': '5',
      });
    const problem = changes.problem();
    if (problem !== null)
      throw new HttpError(503, 'SERVICE_UNAVAILABLE', `order changes are not heard now: ${problem}`, {
        'Retry-After': '1',
      });
    const since = catchUpSince(c.req.header('last-event-id'), new Date(), {
      lookbackMs: config.ORDER_EVENTS_LOOKBACK_MS,
      maxAgeMs: MAX_CATCH_UP_AGE_MS,
    });
    open += 1;
    // Watched before the catch-up is read, so that nothing committed in between is missed.
    const watch = watchHeld(changes, userId);
    try {
      const missed = since
        ? await listOrdersChangedSince(db, userId, since, CATCH_UP_SIZE)
        : (await listOrdersOfUser(db, userId, SNAPSHOT_SIZE)).reverse();
      logger.debug('order_stream.opened', { user_id: userId, catch_up: since !== undefined, sent: missed.length });
      // The proxy in front must pass each event on as it comes (nginx reads this header).
      c.header('X-Accel-Buffering', 'no');
      return streamSSE(c, (stream) =>
        streamOrders(stream, { userId, missed, watch, logger, config }).finally(() => (open -= 1)),
      );
    } catch (error) {
      watch.stop();
      open -= 1;
      throw error;
    }
  });
  events.all('/:user_id', methodNotAllowed(['GET']));

  return events;
}

interface HeldWatch {
  /** Hands what was held, and from now on each change, to `watcher`. */
  attach(watcher: OrderWatcher): void;
  stop(): void;
}

/** Watches the user's changes and holds them (and a resync) until a stream is attached. */
function watchHeld(changes: OrderChanges, userId: string): HeldWatch {
  const held: Order[] = [];
  let resyncReason: string | undefined;
  let target: OrderWatcher | undefined;
  const stop = changes.watch(userId, {
    push: (order) => (target ? target.push(order) : held.push(order)),
    resync: (reason) => (target ? target.resync(reason) : (resyncReason ??= reason)),
  });
  return {
    attach(watcher) {
      target = watcher;
      for (const order of held.splice(0)) watcher.push(order);
      if (resyncReason !== undefined) watcher.resync(resyncReason);
    },
    stop,
  };
}

/** Runs one stream until its client leaves, it falls too far behind, or it is told to resync. */
async function streamOrders(
  stream: SSEStreamingApi,
  options: { userId: string; missed: Order[]; watch: HeldWatch; logger: Logger; config: OrdersApiConfig },
): Promise<void> {
  const { userId, missed, watch, logger, config } = options;
  let end: (why: string) => void = () => {};
  const ended = new Promise<string>((resolve) => (end = resolve));
  const queue = createBoundedQueue<StreamItem>(
    (item) =>
      item === 'heartbeat'
        ? stream.write(': heartbeat\n\n').then(() => {})
        : stream.writeSSE({ event: 'order', id: eventIdOf(item.order), data: JSON.stringify(toOrderJson(item.order)) }),
    // The catch-up goes in the same queue, so it may fill it once on top of the bound.
    config.ORDER_STREAM_QUEUE_MAX + missed.length,
    () => end('client gone'),
  );
  const send = (item: StreamItem) => {
    if (queue.push(item) === 'full') end('client too slow');
  };
  stream.onAbort(() => end('client gone'));
  const heartbeat = setInterval(() => send('heartbeat'), config.ORDER_STREAM_HEARTBEAT_MS);
  try {
    for (const order of missed) send({ order });
    watch.attach({ push: (order) => send({ order }), resync: (reason) => end(`resync: ${reason}`) });
    const why = await ended;
    if (why === 'client too slow') logger.warn('order_stream.dropped', { user_id: userId, why });
    else logger.debug('order_stream.closed', { user_id: userId, why });
  } finally {
    clearInterval(heartbeat);
    watch.stop();
  }
}
