import { AsyncLocalStorage } from 'node:async_hooks';
import type { LogFields } from './logger.ts';

// Fields every log line carries while one piece of work runs, whatever logger
// writes it and however deep: an HTTP request's request_id (packages/http's
// request-id.ts), without passing it down through every call.

const context = new AsyncLocalStorage<LogFields>();

/** Runs `work` with `fields` added to every log line written during it (and its async continuations). */
export function withLogContext<T>(fields: LogFields, work: () => T): T {
  return context.run({ ...context.getStore(), ...fields }, work);
}

/** The fields of the work running now; {} outside any. */
export function logContext(): LogFields {
  return context.getStore() ?? {};
}
