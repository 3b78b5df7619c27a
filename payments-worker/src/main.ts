import { runMessagingWorker } from '@gozon/messaging';
import { paymentRequestHandler } from './handler.ts';
import { settings } from './settings.ts';

await runMessagingWorker({ service: 'payments-worker', settings, createHandler: paymentRequestHandler });
