// The gateway's HTTP API as the shop uses it. Every failure becomes an ApiError
// whose message can be shown to a person as it is: the server's own
// error.message, or words for a gateway that cannot be reached, refuses this
// page's origin (CORS), or answers something that is not the API's JSON.
//
// Every write (POST) is one user action and carries that action's
// Idempotency-Key: the same key and the very same body on every attempt, so a
// retry after an answer that was lost replays what the server did instead of
// doing it again. A write that gets no answer (network error, time-out) or a 503
// is retried here a bounded number of times before its error is thrown.
import { fromRublesNumber, toRublesNumber } from '@gozon/money';

export type OrderStatus = 'NEW' | 'FINISHED' | 'CANCELLED';
export type CancelReason = 'NO_ACCOUNT' | 'INSUFFICIENT_FUNDS';

export interface Wallet {
  /** the API's bill_id */
  walletId: string;
  userId: string;
  /** kopecks */
  balance: bigint;
}

export interface Order {
  orderId: string;
  userId: string;
  /** kopecks */
  amount: bigint;
  description: string;
  status: OrderStatus;
  cancelReason: CancelReason | null;
  createdAt: string;
  updatedAt: string;
}

/**
 * kind: 'http' — the API answered with an error status (code and message are
 * the server's when it sent its JSON error shape); 'network' — no answer at
 * all; 'invalid-response' — a success status with a body that is not what the
 * API sends; 'refused' — the gateway answers, but the browser does not let
 * this page read it: the gateway does not allow the page's origin (CORS).
 */
export type ApiErrorKind = 'http' | 'network' | 'refused' | 'invalid-response';

export class ApiError extends Error {
  override name = 'ApiError';
  readonly kind: ApiErrorKind;
  readonly status: number | null;
  readonly code: string;
  /** How long the server asked to wait before trying again (Retry-After), when it said and the browser lets us read it. */
  readonly retryAfterMs: number | null;

  constructor(
    kind: ApiErrorKind,
    status: number | null,
    code: string,
    message: string,
    retryAfterMs: number | null = null,
  ) {
    super(message);
    this.kind = kind;
    this.status = status;
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }
}

export type FetchLike = (url: string, init?: RequestInit) => Promise<Response>;

/** One user action's write: its key goes with every attempt, automatic or by hand. */
export interface Write {
  /** the action's Idempotency-Key, made when the person acted */
  key: string;
  /** Told before each automatic retry, so the page can say it is still working. */
  onRetry?: (retry: RetryNotice) => void;
}

export interface RetryNotice {
  /** the attempt about to be made: 2, 3, … up to attempts */
  attempt: number;
  attempts: number;
  /** what the attempt before it met */
  reason: ApiError;
  delayMs: number;
}

export interface ApiOptions {
  baseUrl: string;
  fetch?: FetchLike;
  /** How long to wait for an answer before giving up; 0 waits forever. */
  timeoutMs?: number;
  /** How many times one write is sent at most, the first time included. */
  writeAttempts?: number;
  /** The wait before the first automatic retry when the server names none; doubled for each one after. */
  retryDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** The page's origin, named when the gateway refuses it; the browser's location by default. */
  pageOrigin?: string;
}

/** A Retry-After longer than this is not waited for: the error goes to the person, who may try again later. */
export const MAX_RETRY_AFTER_MS = 10_000;

/** Retry-After as milliseconds: delta-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/**
 * The wait before retrying a write that failed with error, or null when it must
 * not be retried automatically: only no answer at all (the request may or may
 * not have reached the server), 503, and 429 (over the gateway's budget for this
 * address: the request reached no service) are retried.
 */
export function retryDelay(error: ApiError, retry: number, baseDelayMs: number): number | null {
  const transient =
    error.kind === 'network' || (error.kind === 'http' && (error.status === 503 || error.status === 429));
  if (!transient) return null;
  if (error.retryAfterMs !== null) return error.retryAfterMs <= MAX_RETRY_AFTER_MS ? error.retryAfterMs : null;
  return baseDelayMs * 2 ** (retry - 1);
}

const wait = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  408: 'Request Timeout',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/**
 * Whether the gateway at base refuses this page's origin, asked after a fetch
 * failed with no answer: a browser reports a call refused by CORS and an
 * unreachable server alike, as a TypeError. Two GETs of /health tell them
 * apart. A CORS one that is answered means this origin is allowed: the failure
 * was the connection's (an answer lost), not a refusal. A no-cors one is not
 * subject to CORS: answered (opaque) after the CORS one was not, the gateway is
 * up and it is this origin it refuses. Unanswered, the gateway is unreachable.
 */
async function originRefused(fetchImpl: FetchLike, base: string, timeoutMs: number): Promise<boolean> {
  const probe = (mode: RequestMode) => {
    const init: RequestInit = { method: 'GET', mode, cache: 'no-store' };
    if (timeoutMs > 0 && typeof AbortSignal !== 'undefined' && 'timeout' in AbortSignal) {
      init.signal = AbortSignal.timeout(timeoutMs);
    }
    return fetchImpl(`${base}/health`, init);
  };
  try {
    await probe('cors');
    return false;
  } catch {
    // refused, or unreachable: asked again below without CORS
  }
  try {
    return (await probe('no-cors')).type === 'opaque';
  } catch {
    return false;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readErrorBody(text: string): { code: string; message: string } | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(body) || !isRecord(body.error)) return undefined;
  const { code, message } = body.error;
  if (typeof code !== 'string' || typeof message !== 'string' || message.trim() === '') return undefined;
  return { code, message };
}

class ShapeError extends Error {}

function field<T>(body: Record<string, unknown>, name: string, check: (v: unknown) => v is T): T {
  const value = body[name];
  if (!check(value)) throw new ShapeError(`field ${name} is missing or has the wrong type`);
  return value;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isStatus = (v: unknown): v is OrderStatus => v === 'NEW' || v === 'FINISHED' || v === 'CANCELLED';
const isReason = (v: unknown): v is CancelReason | null =>
  v === null || v === 'NO_ACCOUNT' || v === 'INSUFFICIENT_FUNDS';

export function parseWallet(body: unknown): Wallet {
  if (!isRecord(body)) throw new ShapeError('a wallet must be an object');
  return {
    walletId: field(body, 'bill_id', isString),
    userId: field(body, 'user_id', isString),
    balance: fromRublesNumber(field(body, 'balance', isNumber)),
  };
}

export function parseOrder(body: unknown): Order {
  if (!isRecord(body)) throw new ShapeError('an order must be an object');
  return {
    orderId: field(body, 'order_id', isString),
    userId: field(body, 'user_id', isString),
    amount: fromRublesNumber(field(body, 'amount', isNumber)),
    description: field(body, 'description', isString),
    status: field(body, 'status', isStatus),
    cancelReason: field(body, 'cancel_reason', isReason),
    createdAt: field(body, 'created_at', isString),
    updatedAt: field(body, 'updated_at', isString),
  };
}

export function parseOrderList(body: unknown): Order[] {
  if (!isRecord(body) || !Array.isArray(body.orders)) throw new ShapeError('an order list must have orders: [...]');
  return body.orders.map(parseOrder);
}

export function createApi({
  baseUrl,
  fetch: fetchImpl = (url, init) => globalThis.fetch(url, init),
  timeoutMs = 15_000,
  writeAttempts = 3,
  retryDelayMs = 1_000,
  sleep = wait,
  pageOrigin = typeof location === 'undefined' ? undefined : location.origin,
}: ApiOptions) {
  const base = baseUrl.replace(/\/+$/, '');
  const page = pageOrigin ?? 'this page’s address';

  /** One attempt: body is the exact text to send, so every attempt of a write sends the same bytes. */
  async function send<T>(
    method: 'GET' | 'POST',
    path: string,
    body: string | undefined,
    key: string | undefined,
    parse: (json: unknown) => T,
  ): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (key !== undefined) headers['idempotency-key'] = key;
    const init: RequestInit = { method, headers };
    if (body !== undefined) init.body = body;
    if (timeoutMs > 0 && typeof AbortSignal !== 'undefined' && 'timeout' in AbortSignal) {
      init.signal = AbortSignal.timeout(timeoutMs);
    }

    let response: Response;
    try {
      response = await fetchImpl(`${base}${path}`, init);
    } catch (error) {
      if (error instanceof Error && error.name === 'TimeoutError') {
        throw new ApiError(
          'network',
          null,
          'TIMEOUT',
          `The gateway at ${base} did not answer within ${Math.round(timeoutMs / 1000)} s.`,
        );
      }
      if (await originRefused(fetchImpl, base, timeoutMs)) {
        throw new ApiError(
          'refused',
          null,
          'CORS_REFUSED',
          `The gateway at ${base} answers, but does not allow calls from ${page} (CORS). ` +
            `Set the gateway’s CORS_ORIGIN to ${page} and restart it, or open the shop at a local address such as localhost.`,
        );
      }
      throw new ApiError(
        'network',
        null,
        'NETWORK',
        `The gateway at ${base} cannot be reached. Check that the shop’s API is running.`,
      );
    }

    let text: string;
    try {
      text = await response.text();
    } catch {
      throw new ApiError(
        'network',
        response.status,
        'NETWORK',
        `The connection to the gateway at ${base} broke off mid-answer.`,
      );
    }

    if (!response.ok) {
      // The gateway sends Retry-After with a 503; a browser shows it only if CORS exposes it.
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
      const error = readErrorBody(text);
      if (error) throw new ApiError('http', response.status, error.code, error.message, retryAfterMs);
      const statusText = response.statusText || STATUS_TEXT[response.status] || 'error';
      throw new ApiError(
        'http',
        response.status,
        `HTTP_${response.status}`,
        `The gateway answered ${response.status} ${statusText} without an explanation. Try again in a moment.`,
        retryAfterMs,
      );
    }

    try {
      return parse(JSON.parse(text));
    } catch (error) {
      const detail =
        error instanceof ShapeError || error instanceof RangeError ? `: ${error.message}` : ': it is not JSON';
      throw new ApiError(
        'invalid-response',
        response.status,
        'INVALID_RESPONSE',
        `The gateway sent an answer the shop does not understand${detail}.`,
      );
    }
  }

  function read<T>(path: string, parse: (json: unknown) => T): Promise<T> {
    return send('GET', path, undefined, undefined, parse);
  }

  /** A POST under the action's key, sent again while it gets no answer or a 503, at most writeAttempts times. */
  async function write<T>(
    path: string,
    body: unknown,
    { key, onRetry }: Write,
    parse: (json: unknown) => T,
  ): Promise<T> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await send('POST', path, text, key, parse);
      } catch (error) {
        if (!(error instanceof ApiError) || attempt >= writeAttempts) throw error;
        const delayMs = retryDelay(error, attempt, retryDelayMs);
        if (delayMs === null) throw error;
        onRetry?.({ attempt: attempt + 1, attempts: writeAttempts, reason: error, delayMs });
        await sleep(delayMs);
      }
    }
  }

  const segment = encodeURIComponent;

  return {
    baseUrl: base,
    /** Opens the user's wallet, or returns the one they have; created tells which. */
    async openWallet(userId: string, action: Write): Promise<Wallet> {
      return write(`/payments/create/${segment(userId)}`, undefined, action, parseWallet);
    },
    async topUp(walletId: string, kopecks: bigint, action: Write): Promise<Wallet> {
      return write(`/payments/add/${segment(walletId)}`, { amount: toRublesNumber(kopecks) }, action, parseWallet);
    },
    async balance(walletId: string): Promise<Wallet> {
      return read(`/payments/balance/${segment(walletId)}`, parseWallet);
    },
    async placeOrder(userId: string, kopecks: bigint, description: string, action: Write): Promise<Order> {
      return write(
        `/orders/create/${segment(userId)}`,
        { amount: toRublesNumber(kopecks), description },
        action,
        parseOrder,
      );
    },
    async listOrders(userId: string): Promise<Order[]> {
      return read(`/orders/orders/${segment(userId)}`, parseOrderList);
    },
    async orderStatus(orderId: string): Promise<Order> {
      return read(`/orders/status/${segment(orderId)}`, parseOrder);
    },
  };
}

export type Api = ReturnType<typeof createApi>;

/** A server message ("amount must be positive") as a sentence: "Amount must be positive." */
export function asSentence(message: string): string {
  const text = message.trim();
  if (text === '') return text;
  const capital = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?…]$/.test(capital) ? capital : `${capital}.`;
}

/** Any thrown thing as words for a person. */
export function errorText(error: unknown): string {
  if (error instanceof ApiError) return asSentence(error.message);
  if (error instanceof Error) return `Something went wrong: ${error.message}`;
  return 'Something went wrong.';
}
