// A user's orders, newest first, kept current by the live feed, or by polling
// while the feed is not live and an order is NEW (lib/orders-watch.ts).
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { Api, Order } from './lib/api.ts';
import { hasPending, type SettledOrder } from './lib/orders.ts';
import { openOrderStream } from './lib/order-stream.ts';
import { watchOrders, type OrdersWatch, type WatchState } from './lib/orders-watch.ts';

export interface OrdersView {
  /** null while the first list is loading */
  orders: Order[] | null;
  error: string | null;
  pending: boolean;
  /** the live feed is open (no polling); otherwise the list is polled while an order is NEW */
  live: boolean;
  // Function properties, not methods: they use no `this`, and are handed on as props on their own.
  /** Shows orders that were just placed at once, then watches them. */
  addPlaced: (orders: Order[]) => void;
  refresh: () => Promise<void>;
}

const LOADING: WatchState = { orders: null, error: null, live: false };

export function useOrders(api: Api, userId: string, onSettled: (orders: SettledOrder[]) => void): OrdersView {
  const [state, setState] = useState<WatchState>(LOADING);
  const watch = useRef<OrdersWatch | null>(null);
  const onSettledRef = useRef(onSettled);
  onSettledRef.current = onSettled;

  // A new user: forget the last one's list, feed and polling (and any answer still on its way).
  useEffect(() => {
    setState(LOADING);
    const current = watchOrders({
      api,
      userId,
      openStream: (handlers) => openOrderStream({ baseUrl: api.baseUrl, userId, ...handlers }),
      onChange: setState,
      onSettled: (orders) => onSettledRef.current(orders),
    });
    watch.current = current;
    return () => current.stop();
  }, [api, userId]);

  const addPlaced = useCallback((placed: Order[]) => watch.current?.addPlaced(placed), []);
  const refresh = useCallback(async () => watch.current?.refresh(), []);

  const pending = state.orders !== null && hasPending(state.orders);
  return { ...state, pending, addPlaced, refresh };
}
