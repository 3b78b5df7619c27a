import { apiSettings } from '@gozon/http';
import { PAYMENTS_DATABASE, PAYMENTS_ROLES } from '@gozon/payments';
import { roleOf } from '@gozon/platform';

/** Every variable this service reads, with its default; docker-compose.yml must set each. */
export const settings = apiSettings(PAYMENTS_DATABASE, 3002, roleOf(PAYMENTS_ROLES, 'payments-api'));
