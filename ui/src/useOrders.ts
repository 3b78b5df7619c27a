// A user's orders, newest first, watched while any is NEW: GET
// /orders/orders/{user} every 500 ms until none is pending, then silence.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { errorText, type Api, type Order } from './lib/api.ts';
import { hasPending, mergeOrders, settledSince } from './lib/orders.ts';

export const POLL_MS = 500;
const POLL_MS_AFTER_ERROR = 2_000;

export interface OrdersView {
  /** null while the first list is loading */
  orders: Order[] | null;
  error: string | null;
  pending: boolean;
  // Function properties, not methods: they use no `this`, and are handed on as props on their own.
  /** Shows orders that were just placed at once, then watches them. */
  addPlaced: (orders: Order[]) => void;
  refresh: () => Promise<void>;
}

export function useOrders(api: Api, userId: string, onSettled: (orderIds: string[]) => void): OrdersView {
  const [orders, setOrders] = useState<Order[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const ordersRef = useRef<Order[] | null>(null);
  const placedRef = useRef<Order[]>([]);
  const generation = useRef(0);
  const onSettledRef = useRef(onSettled);
  onSettledRef.current = onSettled;

  const show = (next: Order[]) => {
    const settled = settledSince(ordersRef.current ?? [], next);
    ordersRef.current = next;
    setOrders(next);
    if (settled.length > 0) onSettledRef.current(settled);
  };

  const refresh = useCallback(async () => {
    const mine = generation.current;
    try {
      const fresh = await api.listOrders(userId);
      if (mine !== generation.current) return;
      const listed = new Set(fresh.map((o) => o.orderId));
      placedRef.current = placedRef.current.filter((o) => !listed.has(o.orderId));
      show(mergeOrders(fresh, placedRef.current));
      setError(null);
    } catch (failure) {
      if (mine !== generation.current) return;
      setError(errorText(failure));
      throw failure;
    }
  }, [api, userId]);

  // A new user: forget the last one's list (and any answer still on its way).
  useEffect(() => {
    generation.current += 1;
    ordersRef.current = null;
    placedRef.current = [];
    setOrders(null);
    setError(null);
    refresh().catch(() => undefined);
  }, [refresh]);

  const pending = orders !== null && hasPending(orders);

  useEffect(() => {
    if (!pending) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      let delay = POLL_MS;
      try {
        await refresh();
      } catch {
        delay = POLL_MS_AFTER_ERROR;
      }
      if (!stopped) timer = setTimeout(tick, delay);
    };
    timer = setTimeout(tick, POLL_MS);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [pending, refresh]);

  const addPlaced = useCallback((placed: Order[]) => {
    if (placed.length === 0) return;
    placedRef.current = [...placed, ...placedRef.current];
    show(mergeOrders(ordersRef.current ?? [], placed));
  }, []);

  return { orders, error, pending, addPlaced, refresh };
}
