import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { isTransientError, type Logger } from '@gozon/platform';

/** Thrown anywhere in a request; turned into the one error shape by toErrorResponse. */
export class HttpError extends Error {
  override name = 'HttpError';
  readonly status: ContentfulStatusCode;
  readonly code: string;
  readonly headers: Record<string, string>;

  constructor(status: ContentfulStatusCode, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

/**
 * The one error shape, `{"error": {"code", "message", "request_id"}}`, with the
 * id of the request `c` answers (request-id.ts), so that a person quoting an
 * error leads to its log lines.
 */
export function errorBody(c: Context, code: string, message: string) {
  return { error: { code, message, request_id: c.get('requestId') } };
}

export function errorHandler(logger: Logger) {
  return (error: Error, c: Context) => {
    if (error instanceof HttpError) {
      return c.json(errorBody(c, error.code, error.message), error.status, error.headers);
    }
    if (error instanceof HTTPException && error.status === 413) {
      return c.json(errorBody(c, 'PAYLOAD_TOO_LARGE', 'request body is too large'), 413);
    }
    if (isTransientError(error)) {
      logger.warn('http.dependency_unavailable', { method: c.req.method, path: c.req.path, error });
      return c.json(errorBody(c, 'SERVICE_UNAVAILABLE', 'a dependency is unavailable, try again'), 503, {
        'Retry-After': '1',
      });
    }
    logger.error('http.unhandled_error', { method: c.req.method, path: c.req.path, error });
    return c.json(errorBody(c, 'INTERNAL', 'internal error'), 500);
  };
}

/** For the other methods of a path: 405 with the Allow header, in the one error shape. */
export function methodNotAllowed(allowed: string[]) {
  return (c: Context): never => {
    throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${c.req.method} is not allowed here; use ${allowed.join(' or ')}`, {
      Allow: allowed.join(', '),
    });
  };
}

export function notFound(c: Context) {
  return c.json(errorBody(c, 'NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`), 404);
}
