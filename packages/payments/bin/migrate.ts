import { migrateSettings, runMigrateMain } from '@gozon/platform';
import { PAYMENTS_DATABASE, paymentsMigrations } from '../src/index.ts';

await runMigrateMain('payments-migrate', migrateSettings(PAYMENTS_DATABASE), paymentsMigrations);
