import type { Context } from 'hono';
import { isUuid } from '@gozon/contracts';
import { HttpError } from './http-error.ts';
import { AmountError, parseRubles } from './money.ts';

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
    throw new HttpError(400, 'UNKNOWN_FIELD', `unknown field(s): ${unknown.join(', ')}; allowed: ${allowed.join(', ')}`);
  }
  return body as Record<string, unknown>;
}

export function requireAmount(value: unknown): bigint {
  if (value === undefined) throw new HttpError(400, 'INVALID_AMOUNT', 'amount is required');
  if (!(value instanceof JsonNumber)) throw new HttpError(400, 'INVALID_AMOUNT', 'amount must be a JSON number of rubles, e.g. 149.90');
  try {
    return parseRubles(value.source);
  } catch (error) {
    if (error instanceof AmountError) throw new HttpError(400, 'INVALID_AMOUNT', `amount ${error.message}`);
    throw error;
  }
}

const USER_ID = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;

export function requireUserId(value: string): string {
  if (!USER_ID.test(value)) {
    throw new HttpError(400, 'INVALID_USER_ID', 'user_id must be 1-64 characters: letters, digits, _ . @ -, starting with a letter or digit');
  }
  return value;
}

export function requireUuid(value: string, name: string): string {
  if (!isUuid(value)) throw new HttpError(400, 'INVALID_ID', `${name} must be a UUID`);
  return value.toLowerCase();
}

export const MAX_DESCRIPTION_LENGTH = 500;

export function requireDescription(value: unknown): string {
  if (typeof value !== 'string') throw new HttpError(400, 'INVALID_DESCRIPTION', 'description must be a string');
  const trimmed = value.trim();
  if (trimmed.length === 0) throw new HttpError(400, 'INVALID_DESCRIPTION', 'description must not be empty');
  if ([...trimmed].length > MAX_DESCRIPTION_LENGTH) {
    throw new HttpError(400, 'INVALID_DESCRIPTION', `description must be at most ${MAX_DESCRIPTION_LENGTH} characters`);
  }
  if (/[\u0000-\u001f\u007f-\u009f]/.test(trimmed)) {
    throw new HttpError(400, 'INVALID_DESCRIPTION', 'description must not contain control characters');
  }
  return trimmed;
}
