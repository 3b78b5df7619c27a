import { runApiService } from '@gozon/runtime';
import { ORDERS_DATABASE } from '@gozon/orders';
import { createApp } from './app.ts';

await runApiService({ service: 'orders-api', database: ORDERS_DATABASE, port: 3001, createApp });
