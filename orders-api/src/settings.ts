import { apiSettings } from '@gozon/runtime';
import { ORDERS_DATABASE } from '@gozon/orders';

/** Every variable this service reads, with its default; docker-compose.yml must set each. */
export const settings = apiSettings(ORDERS_DATABASE, 3001);
