import { workerSettings } from '@gozon/messaging';
import { PAYMENTS_DATABASE } from '@gozon/payments';

/** Every variable this service reads, with its default; docker-compose.yml must set each. */
export const settings = workerSettings(PAYMENTS_DATABASE);
