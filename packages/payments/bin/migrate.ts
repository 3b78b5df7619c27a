import { migrateSettings, runMigrateMain } from '@gozon/platform';
import { PAYMENTS_DATABASE, PAYMENTS_ROLES, paymentsMigrations } from '../src/index.ts';

await runMigrateMain(
  'payments-migrate',
  migrateSettings(PAYMENTS_DATABASE, PAYMENTS_ROLES),
  paymentsMigrations,
  PAYMENTS_ROLES,
);
