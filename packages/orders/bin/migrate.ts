import { migrateSettings, runMigrateMain } from '@gozon/platform';
import { ORDERS_DATABASE, ordersMigrations } from '../src/index.ts';

await runMigrateMain('orders-migrate', migrateSettings(ORDERS_DATABASE), ordersMigrations);
