import { workerSettings } from '@gozon/messaging';
import { ORDERS_DATABASE } from '@gozon/orders';

/** Every variable this service reads, with its default; docker-compose.yml must set each. */
export const settings = workerSettings(ORDERS_DATABASE);
