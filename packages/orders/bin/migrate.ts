import { runMigrateMain } from '@gozon/runtime';
import { ORDERS_DATABASE, ordersMigrations } from '../src/index.ts';

await runMigrateMain('orders-migrate', ORDERS_DATABASE, ordersMigrations);
