import { runMessagingWorker } from '@gozon/messaging';
import { PAYMENTS_DATABASE } from '@gozon/payments';
import { paymentRequestHandler } from './handler.ts';

await runMessagingWorker({ service: 'payments-worker', database: PAYMENTS_DATABASE, createHandler: paymentRequestHandler });
