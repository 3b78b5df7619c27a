import { runMessagingWorker } from '@gozon/messaging';
import { ORDERS_DATABASE } from '@gozon/orders';
import { paymentResultHandler } from './handler.ts';

await runMessagingWorker({ service: 'orders-relay', database: ORDERS_DATABASE, createHandler: paymentResultHandler });
