import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { startSpan, withLogContext } from '@gozon/platform';

declare module 'hono' {
  interface ContextVariableMap {
    /** The traceparent of this request's span (traceRequests), when tracing is on: what the request hands on. */
    traceparent: string | undefined;
  }
}

/**
 * A server span per request, a child of the request's `traceparent` header (the
 * client's, if it sent one), named by method and route pattern, failed on a 5xx;
 * its trace_id is in every log line of the request. Nothing when tracing is off.
 */
export function traceRequests(): MiddlewareHandler {
  return async (c, next) => {
    const span = startSpan(`${c.req.method} ${c.req.path}`, 'server', c.req.header('traceparent'));
    if (!span) return next();
    c.set('traceparent', span.traceparent);
    await withLogContext({ trace_id: span.traceId }, next);
    span.rename(`${c.req.method} ${routePath(c, -1)}`);
    span.end(c.res.status >= 500 ? new Error(`answered ${c.res.status}`) : undefined);
  };
}
