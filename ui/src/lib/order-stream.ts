// The live feed of a user's orders: an EventSource on GET
// {apiBaseUrl}/orders/events/{user_id} (text/event-stream). Each `order` event
// carries one order's JSON as GET /orders/status/{id} returns it. On connect and
// on every reconnect the server first sends what the page may have missed, so
// the page never has to ask again while the feed is live.
//
// The browser reconnects by itself (with Last-Event-ID) after a dropped
// connection or a stream the server closed to make it re-sync. It gives up for
// good on an answer that is not a stream (a 503 when the server holds too many,
// a 404 from a server without the endpoint): then this module opens a new one
// after a wait that doubles up to REOPEN_MAX_MS, so the page falls back to
// polling meanwhile and goes live again once the server takes it.
import { parseOrder, type Order } from './api.ts';

/** The part of the browser's EventSource used here, so tests can hand in a fake. */
export interface EventSourceLike {
  /** 0 connecting, 1 open, 2 closed: the browser will not reconnect by itself */
  readonly readyState: number;
  onopen: ((event: Event) => void) | null;
  onerror: ((event: Event) => void) | null;
  addEventListener(type: 'order', listener: (event: MessageEvent<string>) => void): void;
  close(): void;
}

export type EventSourceFactory = (url: string) => EventSourceLike;

/** 'live': the feed is open; 'down': it is not (connecting, reconnecting, or waiting to reopen). */
export type StreamState = 'live' | 'down';

export interface OrderStreamOptions {
  baseUrl: string;
  userId: string;
  onOrder: (order: Order) => void;
  onState: (state: StreamState) => void;
  createSource?: EventSourceFactory;
  /** setTimeout, or a fake clock's */
  schedule?: (run: () => void, ms: number) => () => void;
}

export interface OrderStream {
  /** Closes the feed for good; nothing is reported after it. */
  close: () => void;
}

/** The first wait before a feed the browser gave up on is opened again; doubled each time, up to REOPEN_MAX_MS. */
export const REOPEN_MS = 2_000;
export const REOPEN_MAX_MS = 30_000;
const CLOSED = 2;

const browserSource: EventSourceFactory = (url) => new EventSource(url);

const timeout = (run: () => void, ms: number) => {
  const timer = setTimeout(run, ms);
  return () => clearTimeout(timer);
};

export function orderEventsUrl(baseUrl: string, userId: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/orders/events/${encodeURIComponent(userId)}`;
}

/**
 * Opens the user's order feed: onOrder gets each order the server sends (events
 * whose data is not an order are skipped), onState says whether the feed is live,
 * starting 'down' until the first connection opens.
 */
export function openOrderStream({
  baseUrl,
  userId,
  onOrder,
  onState,
  createSource = browserSource,
  schedule = timeout,
}: OrderStreamOptions): OrderStream {
  let source: EventSourceLike | null = null;
  let cancelReopen: (() => void) | null = null;
  let reopenMs = REOPEN_MS;
  let closed = false;

  const open = () => {
    cancelReopen = null;
    const current = createSource(orderEventsUrl(baseUrl, userId));
    source = current;
    current.onopen = () => {
      reopenMs = REOPEN_MS;
      onState('live');
    };
    current.onerror = () => {
      onState('down');
      if (current.readyState !== CLOSED) return;
      current.close();
      cancelReopen = schedule(open, reopenMs);
      reopenMs = Math.min(reopenMs * 2, REOPEN_MAX_MS);
    };
    current.addEventListener('order', (event) => {
      let order: Order;
      try {
        order = parseOrder(JSON.parse(event.data));
      } catch {
        // Not an order this page can read: the next list or catch-up brings the truth.
        return;
      }
      onOrder(order);
    });
  };

  onState('down');
  open();
  return {
    close() {
      if (closed) return;
      closed = true;
      cancelReopen?.();
      source?.close();
    },
  };
}
