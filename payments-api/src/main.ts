import { runApiService } from '@gozon/runtime';
import { PAYMENTS_DATABASE } from '@gozon/payments';
import { createApp } from './app.ts';

await runApiService({ service: 'payments-api', database: PAYMENTS_DATABASE, port: 3002, createApp });
