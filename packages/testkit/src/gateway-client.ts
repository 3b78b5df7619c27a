// The one HTTP client of the gateway for tests and scripts: a typed method per
// operation of full-openapi.yaml, and request() for whatever a contract test
// needs to send as it is (odd methods, bodies, Content-Types, headers).

/** The gateway the tests call: TEST_GATEWAY_URL, or the native stack's. */
export const GATEWAY = process.env.TEST_GATEWAY_URL ?? 'http://127.0.0.1:8080';

// Past nginx's own upstream timeout (60 s), so the gateway answers first and a call still never waits for ever.
const CALL_TIMEOUT_MS = 75_000;

export interface ErrorBody {
  error: { code: string; message: string };
}

export interface WalletJson {
  bill_id: string;
  user_id: string;
  /** Rubles. */
  balance: number;
}

export interface OrderJson {
  order_id: string;
  /** The same as order_id: the name the assignment's published contract uses. */
  id: string;
  user_id: string;
  /** Rubles. */
  amount: number;
  description: string;
  status: 'NEW' | 'FINISHED' | 'CANCELLED';
  cancel_reason: string | null;
  created_at: string;
  updated_at: string;
}

export interface OrderListJson {
  user_id: string;
  orders: OrderJson[];
}

/** A typed call's body: T when it succeeded, the error shape when it did not. */
export type Answered<T> = T & Partial<ErrorBody>;

/** One exchange with the gateway, as sent and as answered (the shape a contract checks). */
export interface GatewayAnswer<T> {
  method: string;
  /** As sent: percent-encoded, with the query if any. */
  path: string;
  requestHeaders: Record<string, string>;
  requestBody: string | undefined;
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON; undefined when it is empty or not JSON. */
  json: T;
}

export interface RawRequest {
  /** Sent as these bytes, so that fetch adds no Content-Type of its own. */
  body?: string;
  /** Content-Type of a body: application/json unless given; null sends none. */
  contentType?: string | null;
  headers?: Record<string, string>;
}

export interface PostOptions {
  /** Sent as Idempotency-Key: a retry with the same key is answered, not done again. */
  idempotencyKey?: string;
  headers?: Record<string, string>;
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A client of the gateway at `base`. Every call resolves with the exchange,
 * whatever the status (a 4xx or 5xx is an answer, not an error), and rejects
 * only when no HTTP answer came (refused, dropped, or none within 75 s).
 */
export function createGatewayClient(base = GATEWAY) {
  /** Sends exactly this request: redirects are not followed. */
  async function request(
    method: string,
    path: string,
    { body, contentType, headers = {} }: RawRequest = {},
  ): Promise<GatewayAnswer<any>> {
    const requestHeaders = { ...headers };
    if (body !== undefined && contentType !== null) requestHeaders['content-type'] = contentType ?? 'application/json';
    const response = await fetch(`${base}${path}`, {
      method,
      headers: requestHeaders,
      body: body === undefined ? undefined : Buffer.from(body),
      redirect: 'manual',
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
    const text = await response.text();
    return {
      method,
      path,
      requestHeaders,
      requestBody: body,
      status: response.status,
      headers: response.headers,
      text,
      json: parseJson(text),
    };
  }

  const post = <T>(
    path: string,
    body: unknown,
    { idempotencyKey, headers }: PostOptions,
  ): Promise<GatewayAnswer<Answered<T>>> =>
    request('POST', path, {
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      headers: { ...(idempotencyKey === undefined ? {} : { 'Idempotency-Key': idempotencyKey }), ...headers },
    });
  const get = <T>(path: string): Promise<GatewayAnswer<Answered<T>>> => request('GET', path);
  const segment = encodeURIComponent;

  return {
    base,
    request,
    /** POST /payments/create/{user_id}: 201 with a new wallet, 200 with the one the user has. */
    openWallet: (userId: string, options: PostOptions = {}) =>
      post<WalletJson>(`/payments/create/${segment(userId)}`, undefined, options),
    /** POST /payments/add/{bill_id} with an amount in rubles (at most two decimals). */
    topUp: (billId: string, amount: number, options: PostOptions = {}) =>
      post<WalletJson>(`/payments/add/${segment(billId)}`, { amount }, options),
    /** GET /payments/balance/{bill_id}. */
    balance: (billId: string) => get<WalletJson>(`/payments/balance/${segment(billId)}`),
    /** POST /orders/create/{user_id}: 201 with the order, NEW until its payment is decided. */
    placeOrder: (userId: string, order: { amount: number; description: string }, options: PostOptions = {}) =>
      post<OrderJson>(`/orders/create/${segment(userId)}`, order, options),
    /** GET /orders/status/{order_id}. */
    orderStatus: (orderId: string) => get<OrderJson>(`/orders/status/${segment(orderId)}`),
    /** GET /orders/orders/{user_id}: newest first, at most `limit` (the server's default when absent). */
    listOrders: (userId: string, { limit }: { limit?: number } = {}) =>
      get<OrderListJson>(`/orders/orders/${segment(userId)}${limit === undefined ? '' : `?limit=${limit}`}`),
  };
}

export type GatewayClient = ReturnType<typeof createGatewayClient>;

/** The client of GATEWAY. */
export const gateway = createGatewayClient();
