import { apiSettings } from '@gozon/http';
import { integer, listenPingSetting, roleOf } from '@gozon/platform';
import { ORDERS_DATABASE, ORDERS_ROLES } from '@gozon/orders';

/** Every variable this service reads, with its default; docker-compose.yml must set each. */
export const settings = {
  ...apiSettings(ORDERS_DATABASE, 3001, roleOf(ORDERS_ROLES, 'orders-api')),
  // Orders that arrive together are inserted by one statement with one commit (see groupCalls).
  ORDER_BATCH_SIZE: integer(100, 'most orders one insert statement takes', { min: 1, max: 1000 }),
  ORDER_INSERTS_IN_FLIGHT: integer(
    1,
    'insert statements running at once; orders arriving meanwhile wait and go together',
    { min: 1, max: 200 },
  ),
  // Live order status (order-events-routes.ts): each open stream holds a connection to this process.
  ORDER_STREAMS_MAX: integer(5000, 'most event streams open at once on this process; one more is answered 503', {
    min: 1,
    max: 100000,
  }),
  ORDER_STREAM_HEARTBEAT_MS: integer(
    15000,
    'wait between heartbeats on an idle stream; below the gateway read timeout',
    {
      min: 1000,
      max: 50000,
    },
  ),
  ORDER_STREAM_QUEUE_MAX: integer(100, 'events a stream may have waiting for a slow client before it is dropped', {
    min: 1,
    max: 10000,
  }),
  LISTEN_PING_MS: listenPingSetting,
  ORDER_EVENTS_LOOKBACK_MS: integer(
    60000,
    'a catch-up also resends changes this long before its Last-Event-ID: longer than a transaction that moves orders lasts',
    { min: 0, max: 3600000 },
  ),
};
