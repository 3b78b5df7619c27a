import { Hono, type MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { metricsRegistry, prometheus } from '@gozon/platform';

// Buckets for a request answered by one or two statements, up to the gateway's 60 s.
const REQUEST_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

const requestSeconds = new prometheus.Histogram({
  name: 'http_request_duration_seconds',
  help: 'HTTP requests by method, route (its pattern, or "unmatched") and status, and how long each took to answer (a stream: until it opened)',
  labelNames: ['method', 'route', 'status'],
  buckets: REQUEST_SECONDS,
});

/** Times every request into http_request_duration_seconds; first in an app, after request ids. */
export function measureRequests(): MiddlewareHandler {
  return async (c, next) => {
    const end = requestSeconds.startTimer();
    try {
      await next();
    } finally {
      // The last route that matched is the handler's; only this middleware's own "/*" means none did.
      const route = routePath(c, -1);
      end({ method: c.req.method, route: route === '/*' ? 'unmatched' : route, status: String(c.res.status) });
    }
  };
}

/** GET /metrics: this process's metrics in Prometheus's text format (https://prometheus.io/docs/instrumenting/exposition_formats/). */
export function metricsRoutes(): Hono {
  return new Hono().get('/', async (c) =>
    c.body(await metricsRegistry.metrics(), 200, { 'Content-Type': metricsRegistry.contentType }),
  );
}
