import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { withLogContext } from '@gozon/platform';

declare module 'hono' {
  interface ContextVariableMap {
    /** This request's id (requestId below): in its every log line, its error body and its X-Request-Id. */
    requestId: string;
  }
}

/**
 * A well-formed request id: 32 hex digits (what nginx's $request_id is, and
 * what the gateway sends) or a UUID. The same rule as the gateway's map in
 * gateway/default.conf.template.
 */
const REQUEST_ID = /^([0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

/** The request's id: its X-Request-Id when well-formed (the gateway's), otherwise a new one of 32 hex digits. */
export function acceptRequestId(header: string | undefined): string {
  return header !== undefined && REQUEST_ID.test(header) ? header : randomUUID().replaceAll('-', '');
}

/**
 * Gives each request its id (acceptRequestId), answers it in X-Request-Id, and
 * runs the request with `request_id` in every log line written meanwhile
 * (withLogContext). First of an app's middleware, so that the error handler
 * sees it too.
 */
export function requestId(): MiddlewareHandler {
  return async (c, next) => {
    const id = acceptRequestId(c.req.header('x-request-id'));
    c.set('requestId', id);
    c.header('X-Request-Id', id);
    await withLogContext({ request_id: id }, next);
  };
}
