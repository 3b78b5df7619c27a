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
 * its trace_id is in every log line of the request. Nothing when tracing is off, and
 * nothing for /health and /metrics.
 */
export function traceRequests(): MiddlewareHandler {
  return async (c, next) => {
    // Probes and scrapes come every few seconds from every orchestrator and Prometheus: no trace of theirs.
    if (UNTRACED.test(c.req.path)) return next();
    const span = startSpan(`${c.req.method} ${c.req.path}`, 'server', c.req.header('traceparent'));
    if (!span) return next();
    c.set('traceparent', span.traceparent);
    let failure: unknown;
    try {
      await withLogContext({ trace_id: span.traceId }, next);
      if (c.res.status >= 500) failure = new Error(`answered ${c.res.status}`);
    } catch (error) {
      failure = error;
      throw error;
    } finally {
      const route = routePath(c, -1);
      span.rename(`${c.req.method} ${route === '/*' ? 'unmatched' : route}`);
      span.end(failure);
    }
  };
}

const UNTRACED = /^\/(health|metrics)(\/|$)/;
