import { apiSettings } from '@gozon/http';
import { PAYMENTS_DATABASE } from '@gozon/payments';

/** Every variable this service reads, with its default; docker-compose.yml must set each. */
export const settings = apiSettings(PAYMENTS_DATABASE, 3002);
