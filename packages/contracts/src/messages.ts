// The messages that cross between the orders and payments domains. Amounts are
// kopecks as JSON integers: exact, and well inside Number.MAX_SAFE_INTEGER for
// the API's maximum of 1e12 rubles.

export const PAYMENT_REQUESTED = 'payment.requested';
export const PAYMENT_SUCCEEDED = 'payment.succeeded';
export const PAYMENT_FAILED = 'payment.failed';

export type MessageType = typeof PAYMENT_REQUESTED | typeof PAYMENT_SUCCEEDED | typeof PAYMENT_FAILED;

export const FAILURE_REASONS = ['NO_ACCOUNT', 'INSUFFICIENT_FUNDS'] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

export interface PaymentRequested {
  message_id: string;
  order_id: string;
  user_id: string;
  amount: bigint;
  occurred_at: string;
}

export interface PaymentSucceeded {
  message_id: string;
  order_id: string;
  occurred_at: string;
}

export interface PaymentFailed {
  message_id: string;
  order_id: string;
  reason: FailureReason;
  occurred_at: string;
}

export type PaymentResult =
  ({ type: typeof PAYMENT_SUCCEEDED } & PaymentSucceeded) | ({ type: typeof PAYMENT_FAILED } & PaymentFailed);

/** A message that can never be processed, whatever is retried: it goes to the dead-letter queue. */
export class MalformedMessageError extends Error {
  override name = 'MalformedMessageError';
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

function decodeObject(body: Buffer | string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(body.toString());
  } catch {
    throw new MalformedMessageError('body is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new MalformedMessageError('body is not a JSON object');
  }
  return value as Record<string, unknown>;
}

function requireUuid(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (!isUuid(value)) throw new MalformedMessageError(`${field} must be a UUID`);
  return value;
}

function requireText(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value.length === 0) {
    throw new MalformedMessageError(`${field} must be a non-empty string`);
  }
  return value;
}

const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function requireTimestamp(body: Record<string, unknown>, field: string): string {
  const value = requireText(body, field);
  if (!ISO_TIMESTAMP.test(value) || Number.isNaN(Date.parse(value)))
    throw new MalformedMessageError(`${field} must be an ISO timestamp`);
  return value;
}

function requireKopecks(body: Record<string, unknown>, field: string): bigint {
  const value = body[field];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new MalformedMessageError(`${field} must be a positive integer number of kopecks`);
  }
  return BigInt(value);
}

export function parsePaymentRequested(body: Buffer | string): PaymentRequested {
  const raw = decodeObject(body);
  return {
    message_id: requireUuid(raw, 'message_id'),
    order_id: requireUuid(raw, 'order_id'),
    user_id: requireText(raw, 'user_id'),
    amount: requireKopecks(raw, 'amount'),
    occurred_at: requireTimestamp(raw, 'occurred_at'),
  };
}

export function parsePaymentResult(type: string, body: Buffer | string): PaymentResult {
  const raw = decodeObject(body);
  const common = {
    message_id: requireUuid(raw, 'message_id'),
    order_id: requireUuid(raw, 'order_id'),
    occurred_at: requireTimestamp(raw, 'occurred_at'),
  };
  if (type === PAYMENT_SUCCEEDED) return { type, ...common };
  if (type === PAYMENT_FAILED) {
    const reason = raw.reason;
    if (!FAILURE_REASONS.includes(reason as FailureReason)) {
      throw new MalformedMessageError(`reason must be one of ${FAILURE_REASONS.join(', ')}`);
    }
    return { type, ...common, reason: reason as FailureReason };
  }
  throw new MalformedMessageError(`unexpected message type ${JSON.stringify(type)}`);
}

/** JSON for the wire: bigint kopecks become JSON integers. */
export function encodeMessage(message: object): string {
  return JSON.stringify(message, (_key, value: unknown) => (typeof value === 'bigint' ? Number(value) : value));
}
