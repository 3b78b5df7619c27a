import { useState } from 'preact/hooks';
import type { Order } from '../lib/api.ts';
import { formatRubles } from '../lib/money.ts';
import { cancelReasonText, clockTime, statusText } from '../lib/orders.ts';
import { POLL_MS } from '../lib/orders-watch.ts';
import { askForNotifications, notificationPermission } from '../lib/notifications.ts';
import { Notice } from './Field.tsx';

interface OrdersListProps {
  orders: Order[] | null;
  error: string | null;
  pending: boolean;
  /** the live feed is open; otherwise the list is polled while an order is NEW */
  live: boolean;
  onRetry: () => void;
}

/** Orders shown before "Show all": enough to watch a burst, short enough for a phone. */
export const FIRST_ORDERS = 10;

export function OrdersList({ orders, error, pending, live, onRetry }: OrdersListProps) {
  const [showAll, setShowAll] = useState(false);
  const visible = orders === null ? null : showAll ? orders : orders.slice(0, FIRST_ORDERS);
  const waiting = orders?.filter((o) => o.status === 'NEW').length ?? 0;
  return (
    <section class="card card-orders" aria-labelledby="orders-title" aria-busy={orders === null}>
      <div class="card-head">
        <h2 id="orders-title">Your orders</h2>
        <LiveIndicator live={live} />
        <p class={`watching ${pending ? 'is-on' : ''}`} role="status" data-testid="watching">
          {pending ? (
            <>
              <span class="pulse" aria-hidden="true" />
              Watching {waiting} {waiting === 1 ? 'payment' : 'payments'}…
            </>
          ) : orders && orders.length > 0 ? (
            'All settled'
          ) : (
            ''
          )}
        </p>
      </div>

      {error && (
        <div class="orders-error">
          <Notice tone="error">{pending ? `Could not refresh the orders: ${error} Retrying…` : error}</Notice>
          {!pending && (
            <button type="button" class="button button-quiet" onClick={onRetry}>
              Try again
            </button>
          )}
        </div>
      )}

      {orders === null && !error && (
        <ul class="orders" aria-label="Loading orders">
          {[0, 1, 2].map((i) => (
            <li key={i} class="order order-skeleton" aria-hidden="true">
              <span class="skeleton skeleton-line" />
              <span class="skeleton skeleton-pill" />
            </li>
          ))}
          <li class="visually-hidden">Loading orders…</li>
        </ul>
      )}

      {orders !== null && orders.length === 0 && (
        <div class="empty empty-orders" data-testid="no-orders">
          <p class="empty-title">No orders yet</p>
          <p class="muted">Place one and watch it go from new to paid, usually in a few milliseconds.</p>
        </div>
      )}

      {orders !== null && visible !== null && orders.length > 0 && (
        <ul class="orders" data-testid="orders" id="orders-list">
          {visible.map((order) => (
            <li
              key={order.orderId}
              class={`order order-${order.status.toLowerCase()}`}
              data-order-id={order.orderId}
              data-status={order.status}
            >
              <div class="order-main">
                <p class="order-description">{order.description}</p>
                <p class="order-meta">
                  <time dateTime={order.createdAt}>{clockTime(order.createdAt)}</time>
                  <span aria-hidden="true"> · </span>
                  <span class="order-id" title={order.orderId}>
                    #{order.orderId.slice(-8)}
                  </span>
                </p>
                {order.status === 'CANCELLED' && (
                  <p class="order-reason" data-testid="cancel-reason">
                    {cancelReasonText(order.cancelReason)}
                  </p>
                )}
              </div>
              <div class="order-side">
                <p class="order-amount">{formatRubles(order.amount)}</p>
                <p class={`pill pill-${order.status.toLowerCase()}`} data-testid="order-status">
                  {order.status === 'NEW' && <span class="pulse" aria-hidden="true" />}
                  {statusText(order.status)}
                </p>
              </div>
            </li>
          ))}
        </ul>
      )}

      {orders !== null && orders.length > FIRST_ORDERS && (
        <button
          type="button"
          class="button button-quiet button-more"
          aria-controls="orders-list"
          aria-expanded={showAll}
          onClick={() => setShowAll(!showAll)}
        >
          {showAll ? 'Show the latest only' : `Show all ${orders.length} orders`}
        </button>
      )}
      <NotifyButton />
    </section>
  );
}

/** "Live" while the feed is open, "Updating every 0.5 s" while the page falls back to polling: in words, not colour alone. */
function LiveIndicator({ live }: { live: boolean }) {
  return (
    <p
      class={`live ${live ? 'is-live' : ''}`}
      data-testid="live-indicator"
      title={live ? 'Orders change here the moment they are paid' : 'The live feed is not connected'}
    >
      <span class="live-dot" aria-hidden="true" />
      {live ? 'Live' : `Updating every ${POLL_MS / 1000} s`}
    </p>
  );
}

/** Offers browser notifications for the hidden tab until the person has answered; asks only when clicked. */
function NotifyButton() {
  const [permission, setPermission] = useState(notificationPermission);
  if (permission !== 'default') return null;
  return (
    <button
      type="button"
      class="button-link notify-button"
      onClick={() => void askForNotifications().then(setPermission)}
    >
      Notify me when an order settles while this tab is hidden
    </button>
  );
}
