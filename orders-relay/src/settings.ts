import { workerSettings } from '@gozon/messaging';
import { ORDERS_DATABASE, ORDERS_ROLES } from '@gozon/orders';
import { roleOf } from '@gozon/platform';

/** Every variable this service reads, with its default; docker-compose.yml must set each. */
export const settings = workerSettings(ORDERS_DATABASE, 'orders-relay', roleOf(ORDERS_ROLES, 'orders-relay'));
