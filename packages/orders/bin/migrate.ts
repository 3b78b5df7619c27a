import { migrateSettings, runMigrateMain } from '@gozon/platform';
import { ORDERS_DATABASE, ORDERS_ROLES, ordersMigrations } from '../src/index.ts';

await runMigrateMain('orders-migrate', migrateSettings(ORDERS_DATABASE, ORDERS_ROLES), ordersMigrations, ORDERS_ROLES);
