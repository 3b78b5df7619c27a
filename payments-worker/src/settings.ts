import { workerSettings } from '@gozon/messaging';
import { PAYMENTS_DATABASE, PAYMENTS_ROLES } from '@gozon/payments';
import { roleOf } from '@gozon/platform';

/** Every variable this service reads, with its default; docker-compose.yml must set each. */
export const settings = workerSettings(PAYMENTS_DATABASE, 'payments-worker', roleOf(PAYMENTS_ROLES, 'payments-worker'));
