import { migrateSettings, runMigrateMain } from '@gozon/runtime';
import { ORDERS_DATABASE, ordersMigrations } from '../src/index.ts';

await runMigrateMain('orders-migrate', migrateSettings(ORDERS_DATABASE), ordersMigrations);
