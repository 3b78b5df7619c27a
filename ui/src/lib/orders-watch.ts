// A user's orders as the page shows them, kept current: the first list from
// GET /orders/orders/{user}, then every order the live feed sends. While the
// feed is not live and an order is NEW, the list is polled instead (every
// POLL_MS); while it is live, nothing is polled. Free of Preact, so its state
// machine runs in unit tests with a fake feed and a fake clock; useOrders.ts
// is the hook around it.
import { errorText, type Api, type Order } from './api.ts';
import { hasPending, mergeOrders, settledSince, upsertOrder, type SettledOrder } from './orders.ts';
import type { OrderStream, StreamState } from './order-stream.ts';

export const POLL_MS = 500;
export const POLL_MS_AFTER_ERROR = 2_000;

export interface WatchState {
  /** newest first; null while the first list is loading */
  orders: Order[] | null;
  error: string | null;
  /** whether the live feed is open; when it is not, the list is polled while an order is NEW */
  live: boolean;
}

export interface WatchOptions {
  api: Pick<Api, 'listOrders'>;
  userId: string;
  /** Opens the live feed (openOrderStream bound to the API's address, or a fake). */
  openStream: (handlers: { onOrder: (order: Order) => void; onState: (state: StreamState) => void }) => OrderStream;
  /** Told after every change of the state. */
  onChange: (state: WatchState) => void;
  /** Told of the orders the page saw settle, once each, in the order they settled. */
  onSettled: (orders: SettledOrder[]) => void;
  schedule?: (run: () => void, ms: number) => () => void;
}

export interface OrdersWatch {
  state: () => WatchState;
  /** Shows orders that were just placed at once, then watches them. */
  addPlaced: (orders: Order[]) => void;
  /** Reads the list again; rejects (and shows the error) when it cannot. */
  refresh: () => Promise<void>;
  /** Stops the feed, the polling and every report: for a page that moved on. */
  stop: () => void;
}

const timeout = (run: () => void, ms: number) => {
  const timer = setTimeout(run, ms);
  return () => clearTimeout(timer);
};

/** Starts watching: asks for the first list and opens the feed at once. */
export function watchOrders({
  api,
  userId,
  openStream,
  onChange,
  onSettled,
  schedule = timeout,
}: WatchOptions): OrdersWatch {
  let state: WatchState = { orders: null, error: null, live: false };
  // Orders the page knows of that no list has shown yet (just placed, or streamed
  // before a list that was already on its way): a list without them keeps them.
  let unlisted: Order[] = [];
  let stopped = false;
  let cancelPoll: (() => void) | null = null;

  const polling = () => !state.live && state.orders !== null && hasPending(state.orders);

  const set = (next: Partial<WatchState>) => {
    if (stopped) return;
    const before = state.orders;
    state = { ...state, ...next };
    if (cancelPoll && !polling()) {
      cancelPoll();
      cancelPoll = null;
    } else if (!cancelPoll && polling()) {
      cancelPoll = schedule(() => void poll(), POLL_MS);
    }
    onChange(state);
    const settled = before === null || state.orders === null ? [] : settledSince(before, state.orders);
    if (settled.length > 0) onSettled(settled);
  };

  const refresh = async () => {
    try {
      const fresh = await api.listOrders(userId);
      const orders = mergeOrders(fresh, state.orders ?? [], unlisted);
      const listed = new Set(fresh.map((o) => o.orderId));
      unlisted = unlisted.filter((o) => !listed.has(o.orderId));
      set({ orders, error: null });
    } catch (failure) {
      set({ error: errorText(failure) });
      throw failure;
    }
  };

  const poll = async () => {
    const round = cancelPoll;
    let delay = POLL_MS;
    try {
      await refresh();
    } catch {
      delay = POLL_MS_AFTER_ERROR;
    }
    // Meanwhile set() may have stopped this round of polling, or stopped it and started another.
    if (cancelPoll !== round) return;
    cancelPoll = polling() ? schedule(() => void poll(), delay) : null;
  };

  const know = (orders: Order[]) => {
    for (const order of orders) unlisted = upsertOrder(unlisted, order);
    if (state.orders === null) return; // the first list, on its way, takes them in
    set({ orders: orders.reduce(upsertOrder, state.orders) });
  };

  const stream = openStream({
    onOrder: (order) => know([order]),
    onState: (feed) => {
      if ((feed === 'live') !== state.live) set({ live: feed === 'live' });
    },
  });
  refresh().catch(() => undefined);

  return {
    state: () => state,
    addPlaced: (orders) => {
      if (orders.length > 0) know(orders);
    },
    refresh,
    stop: () => {
      stopped = true;
      cancelPoll?.();
      cancelPoll = null;
      stream.close();
    },
  };
}
