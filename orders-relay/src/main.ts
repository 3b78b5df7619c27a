import { runMessagingWorker } from '@gozon/messaging';
import { paymentResultHandler } from './handler.ts';
import { settings } from './settings.ts';

await runMessagingWorker({ service: 'orders-relay', settings, createHandler: paymentResultHandler });
