// The gateway's HTTP API as the shop uses it. Every failure becomes an ApiError
// whose message can be shown to a person as it is: the server's own
// error.message, or words for a gateway that cannot be reached or answers
// something that is not the API's JSON.
import { fromJsonNumber, toJsonNumber } from './money.ts';

export type OrderStatus = 'NEW' | 'FINISHED' | 'CANCELLED';
export type CancelReason = 'NO_ACCOUNT' | 'INSUFFICIENT_FUNDS';

export interface Wallet {
  billId: string;
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
 * API sends.
 */
export type ApiErrorKind = 'http' | 'network' | 'invalid-response';

export class ApiError extends Error {
  override name = 'ApiError';
  readonly kind: ApiErrorKind;
  readonly status: number | null;
  readonly code: string;

  constructor(kind: ApiErrorKind, status: number | null, code: string, message: string) {
    super(message);
    this.kind = kind;
    this.status = status;
    this.code = code;
  }
}

export type FetchLike = (url: string, init?: RequestInit) => Promise<Response>;

export interface ApiOptions {
  baseUrl: string;
  fetch?: FetchLike;
  /** How long to wait for an answer before giving up; 0 waits forever. */
  timeoutMs?: number;
}

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
const isReason = (v: unknown): v is CancelReason | null => v === null || v === 'NO_ACCOUNT' || v === 'INSUFFICIENT_FUNDS';

export function parseWallet(body: unknown): Wallet {
  if (!isRecord(body)) throw new ShapeError('a wallet must be an object');
  return {
    billId: field(body, 'bill_id', isString),
    userId: field(body, 'user_id', isString),
    balance: fromJsonNumber(field(body, 'balance', isNumber)),
  };
}

export function parseOrder(body: unknown): Order {
  if (!isRecord(body)) throw new ShapeError('an order must be an object');
  return {
    orderId: field(body, 'order_id', isString),
    userId: field(body, 'user_id', isString),
    amount: fromJsonNumber(field(body, 'amount', isNumber)),
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

export function createApi({ baseUrl, fetch: fetchImpl = (url, init) => globalThis.fetch(url, init), timeoutMs = 15_000 }: ApiOptions) {
  const base = baseUrl.replace(/\/+$/, '');

  async function request<T>(method: 'GET' | 'POST', path: string, body: unknown, parse: (json: unknown) => T): Promise<T> {
    const init: RequestInit = { method, headers: { accept: 'application/json' } };
    if (body !== undefined) {
      init.headers = { accept: 'application/json', 'content-type': 'application/json' };
      init.body = JSON.stringify(body);
    }
    if (timeoutMs > 0 && typeof AbortSignal !== 'undefined' && 'timeout' in AbortSignal) {
      init.signal = AbortSignal.timeout(timeoutMs);
    }

    let response: Response;
    try {
      response = await fetchImpl(`${base}${path}`, init);
    } catch (error) {
      if (error instanceof Error && error.name === 'TimeoutError') {
        throw new ApiError('network', null, 'TIMEOUT', `The gateway at ${base} did not answer within ${Math.round(timeoutMs / 1000)} s.`);
      }
      throw new ApiError('network', null, 'NETWORK', `The gateway at ${base} cannot be reached. Check that the shop’s API is running.`);
    }

    let text: string;
    try {
      text = await response.text();
    } catch {
      throw new ApiError('network', response.status, 'NETWORK', `The connection to the gateway at ${base} broke off mid-answer.`);
    }

    if (!response.ok) {
      const error = readErrorBody(text);
      if (error) throw new ApiError('http', response.status, error.code, error.message);
      const statusText = response.statusText || STATUS_TEXT[response.status] || 'error';
      throw new ApiError(
        'http',
        response.status,
        `HTTP_${response.status}`,
        `The gateway answered ${response.status} ${statusText} without an explanation. Try again in a moment.`,
      );
    }

    try {
      return parse(JSON.parse(text));
    } catch (error) {
      const detail = error instanceof ShapeError || error instanceof RangeError ? `: ${error.message}` : ': it is not JSON';
      throw new ApiError('invalid-response', response.status, 'INVALID_RESPONSE', `The gateway sent an answer the shop does not understand${detail}.`);
    }
  }

  const segment = encodeURIComponent;

  return {
    baseUrl: base,
    /** Opens the user's wallet, or returns the one they have; created tells which. */
    async openWallet(userId: string): Promise<Wallet> {
      return request('POST', `/payments/create/${segment(userId)}`, undefined, parseWallet);
    },
    async topUp(billId: string, kopecks: bigint): Promise<Wallet> {
      return request('POST', `/payments/add/${segment(billId)}`, { amount: toJsonNumber(kopecks) }, parseWallet);
    },
    async balance(billId: string): Promise<Wallet> {
      return request('GET', `/payments/balance/${segment(billId)}`, undefined, parseWallet);
    },
    async placeOrder(userId: string, kopecks: bigint, description: string): Promise<Order> {
      return request('POST', `/orders/create/${segment(userId)}`, { amount: toJsonNumber(kopecks), description }, parseOrder);
    },
    async listOrders(userId: string): Promise<Order[]> {
      return request('GET', `/orders/orders/${segment(userId)}`, undefined, parseOrderList);
    },
    async orderStatus(orderId: string): Promise<Order> {
      return request('GET', `/orders/status/${segment(orderId)}`, undefined, parseOrder);
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
