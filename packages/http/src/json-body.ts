import type { Context } from 'hono';
import { HttpError } from './http-error.ts';

/**
 * A JSON number as it was written. JSON.parse would round 0.1 + exponents into a
 * float; keeping the source text lets amounts be parsed exactly and lets `1e2`
 * be refused instead of silently read as 100.
 */
export class JsonNumber {
  readonly source: string;
  constructor(source: string) {
    this.source = source;
  }
}

type Reviver = (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown;

const keepNumberSource: Reviver = (_key, value, context) =>
  typeof value === 'number' ? new JsonNumber(context?.source ?? String(value)) : value;

export function parseJsonKeepingNumbers(text: string): unknown {
  return JSON.parse(text, keepNumberSource as Parameters<typeof JSON.parse>[1]);
}

/** The request body as a JSON object with exactly the allowed fields. */
export async function readJsonObject(c: Context, allowed: readonly string[]): Promise<Record<string, unknown>> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json');
  }
  let body: unknown;
  try {
    body = parseJsonKeepingNumbers(await c.req.text());
  } catch {
    throw new HttpError(400, 'INVALID_JSON', 'request body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body) || body instanceof JsonNumber) {
    throw new HttpError(400, 'INVALID_JSON', 'request body must be a JSON object');
  }
  const unknown = Object.keys(body).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) {
    throw new HttpError(
      400,
      'UNKNOWN_FIELD',
      `unknown field(s): ${unknown.join(', ')}; allowed: ${allowed.join(', ')}`,
    );
  }
  return body as Record<string, unknown>;
}
