import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import { ORDER_CHANGED_CHANNEL, findOrders, parseOrderChanges, type Order, type OrdersDb } from '@gozon/orders';
import {
  closeListenClient,
  createListenClient,
  startSpan,
  untilListenSilent,
  type Logger,
  type OpenSpan,
  type Stoppable,
} from '@gozon/platform';

/** One open stream's view of its user's changes. */
export interface OrderWatcher {
  /** An order of the watched user changed; this is its committed state. */
  push(order: Order): void;
  /** Changes may have been missed: the stream should end, so that its client reconnects and catches up. */
  resync(reason: string): void;
}

/** The committed changes of orders, per user, as this process hears them. */
export interface OrderChanges {
  /** Starts telling `watcher` of `userId`'s changes; the returned function stops it. */
  watch(userId: string, watcher: OrderWatcher): () => void;
  /** Null while changes are heard; otherwise why not (streams are refused meanwhile). */
  problem(): string | null;
}

type ListenClient = ReturnType<typeof createListenClient>;

/** A change heard for a watched user and not yet pushed; its span runs from hearing it to the push. */
interface UnreadChange {
  userId: string;
  span: OpenSpan | undefined;
}

const FIRST_RETRY_MS = 200;
const LAST_RETRY_MS = 5000;

/**
 * Listens on ORDER_CHANGED_CHANNEL through one connection of its own and tells
 * each watcher of its user's changed orders. The orders a notification names
 * are read in one query for all streams (orders named while a read runs go in
 * the next one), and only those of users watched here. A lost connection is
 * opened again with backoff (200 ms doubling to 5 s); every watcher is told to
 * resync, since what was committed meanwhile was not heard, and problem() says
 * so until the LISTEN is back. `connectTimeoutMs` bounds each connect.
 *
 * With tracing on, each change heard for a user watched here is a span, "push
 * order status", a child of the traceparent the change was announced with
 * (orders-relay's apply): the order's trace ends where the browser is told.
 *
 * A LISTEN connection sends nothing of its own, so one that dies silently (a
 * partition, a stalled server, a dropped NAT entry: no FIN, no RST) would wait
 * for ever. Every `pingMs` a trivial query goes over it, and one not answered
 * within `connectTimeoutMs` counts as the connection lost: a silent death is
 * noticed within pingMs + connectTimeoutMs. Closing a lost connection is
 * bounded too (closeListenClient) and comes after the resync, so a peer that
 * never answers holds up neither.
 */
export function startOrderChangeFeed(options: {
  databaseUrl: string;
  db: Kysely<OrdersDb>;
  logger: Logger;
  service: string;
  connectTimeoutMs: number;
  pingMs: number;
}): OrderChanges & Stoppable {
  const { db, logger } = options;
  const watchers = new Map<string, Set<OrderWatcher>>();
  let problem: string | null = 'not listening yet';
  let stopped = false;
  let client: ListenClient | undefined;
  const stopping = new AbortController();
  const unread = new Map<string, UnreadChange>(); // by order id
  let reading = false;

  const watchersOf = (userId: string) => [...(watchers.get(userId) ?? [])];
  const resyncAll = (reason: string) => {
    for (const set of watchers.values()) for (const watcher of set) watcher.resync(reason);
  };

  const readUnread = async () => {
    reading = true;
    while (unread.size > 0) {
      const batch = new Map(unread);
      unread.clear();
      try {
        const changed = await findOrders(db, [...batch.keys()]);
        // Oldest change first, as a catch-up sends them. One read may take in the changes of several
        // transactions; in another order, a stream cut mid-read could leave its client with a later
        // change's id as its Last-Event-ID and without an earlier change, which a catch-up from that
        // id would send again only within its lookback.
        changed.sort((a, b) => a.updated_at.getTime() - b.updated_at.getTime());
        for (const order of changed) for (const watcher of watchersOf(order.user_id)) watcher.push(order);
        for (const { span } of batch.values()) span?.end();
      } catch (error) {
        logger.warn('order_changes.read_failed', { orders: batch.size, error });
        for (const { span } of batch.values()) span?.end(error);
        for (const userId of new Set([...batch.values()].map((change) => change.userId)))
          for (const watcher of watchersOf(userId)) watcher.resync('changed orders could not be read');
      }
    }
    reading = false;
  };

  const hear = (payload: string | undefined) => {
    for (const { userId, orderId, traceparent } of parseOrderChanges(payload ?? '')) {
      if (!watchers.has(userId)) continue;
      unread.get(orderId)?.span?.end();
      unread.set(orderId, { userId, span: startSpan('push order status', 'producer', traceparent) });
    }
    if (unread.size > 0 && !reading) void readUnread();
  };

  /** Connects `listener`, LISTENs and hears changes until the connection is lost; resolves with why. */
  const listenOn = async (listener: ListenClient): Promise<unknown> => {
    const lost = new Promise<unknown>((resolve) => {
      listener.on('error', resolve);
      listener.on('end', () => resolve(new Error('LISTEN connection closed')));
    });
    listener.on('notification', (message) => hear(message.payload));
    const life = new AbortController();
    try {
      const connected = Promise.all([listener.connect(), listener.query(`listen ${ORDER_CHANGED_CHANNEL}`)]).then(
        () => 'connected',
      );
      const timedOut = sleep(options.connectTimeoutMs, 'timeout', { signal: life.signal, ref: false });
      const outcome = await Promise.race([connected, lost, timedOut]);
      if (outcome === 'timeout') return new Error(`no LISTEN connection within ${options.connectTimeoutMs} ms`);
      if (outcome !== 'connected') return outcome;
      problem = null;
      logger.info('order_changes.listening', { ping_ms: options.pingMs });
      return await Promise.race([
        lost,
        untilListenSilent(listener, {
          intervalMs: options.pingMs,
          timeoutMs: options.connectTimeoutMs,
          signal: life.signal,
        }),
      ]);
    } finally {
      life.abort();
      listener.removeAllListeners('notification');
    }
  };

  const run = async () => {
    let retryMs = FIRST_RETRY_MS;
    while (!stopped) {
      const heardSince = Date.now();
      const listener = createListenClient(options.databaseUrl, options.service);
      client = listener;
      const reason = await listenOn(listener).catch((error: unknown) => error);
      if (!stopped) {
        if (problem === null) retryMs = FIRST_RETRY_MS;
        problem = 'the LISTEN connection to the orders database is lost';
        logger.warn('order_changes.lost', { error: reason, listened_ms: Date.now() - heardSince, retry_ms: retryMs });
        resyncAll('order changes were not heard for a while');
      }
      await closeListenClient(listener, options.connectTimeoutMs);
      if (stopped) return;
      await sleep(retryMs, undefined, { signal: stopping.signal }).catch(() => {});
      retryMs = Math.min(retryMs * 2, LAST_RETRY_MS);
    }
  };
  const running = run();

  return {
    watch(userId, watcher) {
      const set = watchers.get(userId) ?? new Set();
      watchers.set(userId, set.add(watcher));
      return () => {
        set.delete(watcher);
        if (set.size === 0 && watchers.get(userId) === set) watchers.delete(userId);
      };
    },
    problem: () => problem,
    async stop() {
      stopped = true;
      stopping.abort();
      resyncAll('the replica is stopping');
      if (client) await closeListenClient(client, options.connectTimeoutMs);
      await running;
    },
  };
}
