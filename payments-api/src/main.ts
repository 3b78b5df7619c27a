import { runApiService } from '@gozon/http';
import { createApp } from './app.ts';
import { settings } from './settings.ts';

await runApiService({ service: 'payments-api', settings, createApp });
