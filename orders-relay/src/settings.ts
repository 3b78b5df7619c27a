import { workerSettings } from '@gozon/messaging';
import { ORDERS_DATABASE, ORDERS_ROLES } from '@gozon/orders';
import { integer, roleOf } from '@gozon/platform';

/** Every variable this service reads, with its default; docker-compose.yml must set each. */
export const settings = {
  ...workerSettings(ORDERS_DATABASE, 'orders-relay', roleOf(ORDERS_ROLES, 'orders-relay')),
  SLOW_ORDER_MS: integer(
    1000,
    'an order that took longer than this (ms) from placed to its final status is logged, with its trace_id (order.settled_slowly)',
    { min: 1, max: 3_600_000 },
  ),
};
