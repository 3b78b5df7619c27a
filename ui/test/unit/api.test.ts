import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ApiError,
  asSentence,
  createApi,
  errorText,
  parseRetryAfter,
  type FetchLike,
  type RetryNotice,
} from '../../src/lib/api.ts';

const BASE = 'http://localhost:8080';
const WALLET_ID = '7c0c8b0e-7c0c-4b0e-8b0e-7c0c8b0e7c0c';
const ORDER = '3f2b1a00-1111-4222-8333-944455556666';

interface Seen {
  url: string;
  init: RequestInit | undefined;
}

/** What the gateway does with the client's probes of /health after a fetch failed. */
type Gateway = 'down' | 'refuses-origin' | 'allows-origin';

/** The client's probe of /health (a GET, with or without CORS) as a browser would answer it; undefined for any other request. */
function probe(url: string, init: RequestInit | undefined, gateway: Gateway): Response | undefined {
  if (url !== `${BASE}/health`) return undefined;
  assert.is(init?.method, 'GET', 'the probe never repeats a write');
  if (gateway === 'allows-origin') return new Response('{"status":"ok"}', { status: 200 });
  if (gateway === 'refuses-origin' && init?.mode === 'no-cors')
    return { type: 'opaque', status: 0, ok: false } as Response;
  throw new TypeError('Failed to fetch');
}

/**
 * A fetch that records what it was asked and answers with the given response (or throws).
 * Probes of /health after a failure are not recorded; the gateway answers them as told.
 */
function fakeFetch(answer: () => Response | Promise<Response>, gateway: Gateway = 'down') {
  const seen: Seen[] = [];
  const fetch: FetchLike = async (url, init) => {
    const probed = probe(url, init, gateway);
    if (probed) return probed;
    seen.push({ url, init });
    return answer();
  };
  return { fetch, seen };
}

const json = (status: number, body: unknown, statusText = '') =>
  new Response(JSON.stringify(body), { status, statusText, headers: { 'content-type': 'application/json' } });

async function failure(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    assert.instance(error, ApiError);
    return error as ApiError;
  }
  assert.unreachable('the call should have failed');
  throw new Error('unreachable');
}

const orderJson = {
  order_id: ORDER,
  user_id: 'alice',
  amount: 149.9,
  description: 'a book',
  status: 'NEW',
  cancel_reason: null,
  created_at: '2026-11-25T10:00:00.000Z',
  updated_at: '2026-11-25T10:00:00.000Z',
};

const success = suite('the API client: success');

success('openWallet posts to /payments/create/{user} and reads the wallet', async () => {
  const { fetch, seen } = fakeFetch(() => json(201, { bill_id: WALLET_ID, user_id: 'alice', balance: 0 }));
  const wallet = await createApi({ baseUrl: `${BASE}/`, fetch }).openWallet('alice', { key: 'k-open' });
  assert.equal(wallet, { walletId: WALLET_ID, userId: 'alice', balance: 0n });
  assert.is(seen[0]?.url, `${BASE}/payments/create/alice`, 'a trailing slash of the base is dropped');
  assert.is(seen[0]?.init?.method, 'POST');
  assert.is(seen[0]?.init?.body, undefined);
});

success('topUp sends the amount as a JSON number of rubles', async () => {
  const { fetch, seen } = fakeFetch(() => json(200, { bill_id: WALLET_ID, user_id: 'alice', balance: 500.5 }));
  const wallet = await createApi({ baseUrl: BASE, fetch }).topUp(WALLET_ID, 50050n, { key: 'k-top-up' });
  assert.is(wallet.balance, 50050n);
  assert.is(seen[0]?.url, `${BASE}/payments/add/${WALLET_ID}`);
  assert.is(seen[0]?.init?.body, '{"amount":500.5}');
  assert.is((seen[0]?.init?.headers as Record<string, string>)['content-type'], 'application/json');
});

success('placeOrder sends amount and description and reads the order', async () => {
  const { fetch, seen } = fakeFetch(() => json(201, orderJson));
  const order = await createApi({ baseUrl: BASE, fetch }).placeOrder('alice', 14990n, 'a book', { key: 'k-order' });
  assert.equal(order, {
    orderId: ORDER,
    userId: 'alice',
    amount: 14990n,
    description: 'a book',
    status: 'NEW',
    cancelReason: null,
    createdAt: '2026-11-25T10:00:00.000Z',
    updatedAt: '2026-11-25T10:00:00.000Z',
  });
  assert.is(seen[0]?.url, `${BASE}/orders/create/alice`);
  assert.equal(JSON.parse(seen[0]?.init?.body as string), { amount: 149.9, description: 'a book' });
});

success('listOrders reads the list in the order given, with cancel reasons', async () => {
  const cancelled = {
    ...orderJson,
    order_id: '5d1e2f00-2222-4333-8444-a55566667777',
    status: 'CANCELLED',
    cancel_reason: 'INSUFFICIENT_FUNDS',
    amount: 1000000000000,
  };
  const { fetch, seen } = fakeFetch(() => json(200, { user_id: 'a.b@c', orders: [cancelled, orderJson] }));
  const orders = await createApi({ baseUrl: BASE, fetch }).listOrders('a.b@c');
  assert.is(seen[0]?.url, `${BASE}/orders/orders/a.b%40c`, 'the user id is one path segment');
  assert.is(orders.length, 2);
  assert.is(orders[0]?.status, 'CANCELLED');
  assert.is(orders[0]?.cancelReason, 'INSUFFICIENT_FUNDS');
  assert.is(orders[0]?.amount, 100000000000000n);
  assert.is(orders[1]?.orderId, ORDER);
});

success('balance and orderStatus are GETs without a body', async () => {
  const { fetch, seen } = fakeFetch(() => json(200, { bill_id: WALLET_ID, user_id: 'alice', balance: 350.6 }));
  const api = createApi({ baseUrl: BASE, fetch });
  assert.is((await api.balance(WALLET_ID)).balance, 35060n);
  assert.is(seen[0]?.init?.method, 'GET');
  assert.is(seen[0]?.init?.body, undefined);
  const status = fakeFetch(() => json(200, { ...orderJson, status: 'FINISHED' }));
  assert.is((await createApi({ baseUrl: BASE, fetch: status.fetch }).orderStatus(ORDER)).status, 'FINISHED');
  assert.is(status.seen[0]?.url, `${BASE}/orders/status/${ORDER}`);
});

success.run();

const errors = suite('the API client: errors become words');

errors('the JSON error shape → ApiError with the server’s code and message', async () => {
  const { fetch } = fakeFetch(() =>
    json(400, { error: { code: 'INVALID_AMOUNT', message: 'amount must have at most two decimals' } }),
  );
  const error = await failure(createApi({ baseUrl: BASE, fetch }).placeOrder('alice', 1n, 'x', { key: 'k' }));
  assert.is(error.kind, 'http');
  assert.is(error.status, 400);
  assert.is(error.code, 'INVALID_AMOUNT');
  assert.is(error.message, 'amount must have at most two decimals');
  assert.is(errorText(error), 'Amount must have at most two decimals.', 'shown as a sentence');
});

errors('404, 413, 415 and 503 from the gateway keep their codes', async () => {
  for (const [status, code] of [
    [404, 'ACCOUNT_NOT_FOUND'],
    [413, 'PAYLOAD_TOO_LARGE'],
    [415, 'UNSUPPORTED_MEDIA_TYPE'],
    [503, 'SERVICE_UNAVAILABLE'],
  ] as const) {
    const { fetch } = fakeFetch(() => json(status, { error: { code, message: `the ${code} message` } }));
    const error = await failure(createApi({ baseUrl: BASE, fetch }).balance(WALLET_ID));
    assert.is(error.status, status);
    assert.is(error.code, code);
    assert.is(error.message, `the ${code} message`);
  }
});

errors('a 502 with an HTML body → words with the status, no HTML', async () => {
  const { fetch } = fakeFetch(
    () =>
      new Response('<html><body><h1>502 Bad Gateway</h1></body></html>', {
        status: 502,
        statusText: 'Bad Gateway',
        headers: { 'content-type': 'text/html' },
      }),
  );
  const error = await failure(createApi({ baseUrl: BASE, fetch }).listOrders('alice'));
  assert.is(error.kind, 'http');
  assert.is(error.status, 502);
  assert.is(error.code, 'HTTP_502');
  assert.match(error.message, /^The gateway answered 502 Bad Gateway without an explanation/);
  assert.not.match(error.message, /</);
});

errors('an empty error body and one with a different JSON shape are the same as a non-JSON one', async () => {
  for (const body of ['', '{"message":"nope"}', '{"error":"flat string"}', '{"error":{"code":"X"}}', 'null', '[1]']) {
    const { fetch } = fakeFetch(() => new Response(body, { status: 500 }));
    const error = await failure(createApi({ baseUrl: BASE, fetch }).balance(WALLET_ID));
    assert.is(error.code, 'HTTP_500', body);
    assert.match(error.message, /The gateway answered 500 Internal Server Error/, body);
  }
});

errors('a network failure → "The gateway at … cannot be reached"', async () => {
  const { fetch } = fakeFetch(() => {
    throw new TypeError('Failed to fetch');
  });
  const error = await failure(createApi({ baseUrl: BASE, fetch, writeAttempts: 1 }).openWallet('alice', { key: 'k' }));
  assert.is(error.kind, 'network');
  assert.is(error.status, null);
  assert.is(error.code, 'NETWORK');
  assert.match(error.message, /^The gateway at http:\/\/localhost:8080 cannot be reached/);
});

errors(
  'a call the gateway refuses by CORS → words that say so, name the page and CORS_ORIGIN; not retried',
  async () => {
    const { fetch, seen } = fakeFetch(() => {
      throw new TypeError('Failed to fetch');
    }, 'refuses-origin');
    const api = createApi({ baseUrl: BASE, fetch, pageOrigin: 'http://shop.example:3000', sleep: async () => {} });
    const error = await failure(api.placeOrder('alice', 100n, 'a book', { key: 'k' }));
    assert.is(error.kind, 'refused');
    assert.is(error.code, 'CORS_REFUSED');
    assert.is(error.status, null);
    assert.is(seen.length, 1, 'a refusal is not retried: the next attempt would be refused too');
    assert.is(
      errorText(error),
      'The gateway at http://localhost:8080 answers, but does not allow calls from http://shop.example:3000 (CORS). ' +
        'Set the gateway’s CORS_ORIGIN to http://shop.example:3000 and restart it, or open the shop at a local address such as localhost.',
    );
    assert.not.match(errorText(error), /cannot be reached/);
    const read = await failure(api.balance(WALLET_ID));
    assert.is(read.kind, 'refused');
  },
);

errors('a failed call is unreachable, not refused, when the gateway is down or does allow this origin', async () => {
  for (const gateway of ['down', 'allows-origin'] as const) {
    const { fetch, seen } = fakeFetch(() => {
      throw new TypeError('Failed to fetch');
    }, gateway);
    const api = createApi({ baseUrl: BASE, fetch, pageOrigin: 'http://127.0.0.1:3000', sleep: async () => {} });
    const error = await failure(api.placeOrder('alice', 100n, 'a book', { key: 'k' }));
    assert.is(error.kind, 'network', gateway);
    assert.match(errorText(error), /^The gateway at http:\/\/localhost:8080 cannot be reached/, gateway);
    assert.is(seen.length, 3, `${gateway}: an answer lost on the way is retried under the key`);
  }
});

errors('a time-out → words saying the gateway did not answer in time', async () => {
  const { fetch } = fakeFetch(() => {
    throw new DOMException('The operation was aborted due to timeout', 'TimeoutError');
  });
  const error = await failure(createApi({ baseUrl: BASE, fetch, timeoutMs: 5000 }).balance(WALLET_ID));
  assert.is(error.code, 'TIMEOUT');
  assert.match(error.message, /did not answer within 5 s/);
});

errors('each request carries a time-out signal', async () => {
  const { fetch, seen } = fakeFetch(() => json(200, { bill_id: WALLET_ID, user_id: 'alice', balance: 1 }));
  await createApi({ baseUrl: BASE, fetch }).balance(WALLET_ID);
  assert.instance(seen[0]?.init?.signal, AbortSignal);
});

errors('a 200 whose body is not the API’s → invalid-response in words', async () => {
  const cases: Array<[string, RegExp]> = [
    ['<html>hello</html>', /not JSON/],
    ['{"bill_id": 1, "user_id": "alice", "balance": 0}', /bill_id/],
    ['{"bill_id": "b", "user_id": "alice", "balance": "10.00"}', /balance/],
    ['{"bill_id": "b", "user_id": "alice"}', /balance/],
  ];
  for (const [body, detail] of cases) {
    const { fetch } = fakeFetch(() => new Response(body, { status: 200 }));
    const error = await failure(createApi({ baseUrl: BASE, fetch }).balance(WALLET_ID));
    assert.is(error.kind, 'invalid-response', body);
    assert.is(error.code, 'INVALID_RESPONSE');
    assert.match(error.message, /^The gateway sent an answer the shop does not understand/);
    assert.match(error.message, detail, body);
  }
});

errors('an order with an unknown status or reason is refused, not shown wrongly', async () => {
  for (const bad of [
    { ...orderJson, status: 'PAID' },
    { ...orderJson, cancel_reason: 'FRAUD' },
    { ...orderJson, amount: null },
  ]) {
    const { fetch } = fakeFetch(() => json(200, { user_id: 'alice', orders: [bad] }));
    const error = await failure(createApi({ baseUrl: BASE, fetch }).listOrders('alice'));
    assert.is(error.kind, 'invalid-response');
  }
  const { fetch } = fakeFetch(() => json(200, { user_id: 'alice' }));
  assert.is((await failure(createApi({ baseUrl: BASE, fetch }).listOrders('alice'))).kind, 'invalid-response');
});

errors('errorText words anything thrown', () => {
  assert.is(
    errorText(new ApiError('http', 409, 'BALANCE_LIMIT', 'the balance would pass the limit')),
    'The balance would pass the limit.',
  );
  assert.is(
    errorText(new ApiError('network', null, 'NETWORK', 'The gateway at x cannot be reached. Check it.')),
    'The gateway at x cannot be reached. Check it.',
  );
  assert.is(errorText(new Error('boom')), 'Something went wrong: boom');
  assert.is(errorText('just a string'), 'Something went wrong.');
});

errors('asSentence capitalises and ends a server message', () => {
  assert.is(asSentence('request body is not valid JSON'), 'Request body is not valid JSON.');
  assert.is(asSentence('try again!'), 'Try again!');
  assert.is(asSentence('  '), '');
});

errors.run();

const writes = suite('the API client: every write carries its action’s key, and is retried only under it');

const header = (seen: Seen | undefined, name: string) =>
  (seen?.init?.headers as Record<string, string> | undefined)?.[name];

/** A fetch that plays the given answers in turn, one per request (the last one again once they run out). */
function scripted(...answers: Array<() => Response>) {
  const seen: Seen[] = [];
  const fetch: FetchLike = async (url, init) => {
    probe(url, init, 'down');
    seen.push({ url, init });
    return answers[Math.min(seen.length, answers.length) - 1]!();
  };
  return { fetch, seen };
}

const noAnswer = () => {
  throw new TypeError('Failed to fetch');
};
const timedOut = () => {
  throw new DOMException('The operation was aborted due to timeout', 'TimeoutError');
};
const unavailable = (retryAfter?: string) => () =>
  new Response(
    JSON.stringify({
      error: { code: 'SERVICE_UNAVAILABLE', message: 'the service behind the gateway is unavailable, try again' },
    }),
    {
      status: 503,
      headers: retryAfter === undefined ? {} : { 'retry-after': retryAfter },
    },
  );
const placedOrder = () => json(201, orderJson);

/** An API whose waits between retries are recorded instead of waited. */
function recordingApi(fetch: FetchLike, options: { writeAttempts?: number } = {}) {
  const slept: number[] = [];
  const api = createApi({
    baseUrl: BASE,
    fetch,
    retryDelayMs: 1000,
    sleep: async (ms) => void slept.push(ms),
    ...options,
  });
  return { api, slept };
}

writes('every POST carries the Idempotency-Key it is given; a GET carries none', async () => {
  const { fetch, seen } = fakeFetch(() => json(201, { bill_id: WALLET_ID, user_id: 'alice', balance: 0 }));
  const api = createApi({ baseUrl: BASE, fetch });
  await api.openWallet('alice', { key: 'key-open' });
  await api.topUp(WALLET_ID, 100n, { key: 'key-top-up' });
  await api.balance(WALLET_ID);
  const order = fakeFetch(placedOrder);
  await createApi({ baseUrl: BASE, fetch: order.fetch }).placeOrder('alice', 100n, 'x', { key: 'key-order' });
  assert.equal(
    [...seen, ...order.seen].map((s) => [s.init?.method, header(s, 'idempotency-key')]),
    [
      ['POST', 'key-open'],
      ['POST', 'key-top-up'],
      ['GET', undefined],
      ['POST', 'key-order'],
    ],
  );
});

writes('no answer, then the same order again: same key, same body, one order back', async () => {
  const { fetch, seen } = scripted(noAnswer, placedOrder);
  const { api, slept } = recordingApi(fetch);
  const retries: RetryNotice[] = [];
  const order = await api.placeOrder('alice', 14990n, 'a book', { key: 'the-click', onRetry: (r) => retries.push(r) });
  assert.is(order.orderId, ORDER);
  assert.is(seen.length, 2);
  assert.equal(
    seen.map((s) => header(s, 'idempotency-key')),
    ['the-click', 'the-click'],
  );
  assert.is(seen[1]?.init?.body, seen[0]?.init?.body, 'byte for byte the same body');
  assert.is(seen[1]?.url, seen[0]?.url);
  assert.equal(
    retries.map((r) => [r.attempt, r.attempts, r.reason.code]),
    [[2, 3, 'NETWORK']],
  );
  assert.equal(slept, [1000]);
});

writes('a time-out, then a 503, then the answer: three attempts under one key, waits growing', async () => {
  const { fetch, seen } = scripted(timedOut, unavailable(), () =>
    json(200, { bill_id: WALLET_ID, user_id: 'alice', balance: 500.5 }),
  );
  const { api, slept } = recordingApi(fetch);
  const wallet = await api.topUp(WALLET_ID, 50050n, { key: 'top-up-1' });
  assert.is(wallet.balance, 50050n);
  assert.equal(
    seen.map((s) => header(s, 'idempotency-key')),
    ['top-up-1', 'top-up-1', 'top-up-1'],
  );
  assert.equal(
    seen.map((s) => s.init?.body),
    ['{"amount":500.5}', '{"amount":500.5}', '{"amount":500.5}'],
  );
  assert.equal(slept, [1000, 2000]);
});

writes('each attempt gets its own time-out signal (one spent on the first would cut the retry off)', async () => {
  const { fetch, seen } = scripted(timedOut, placedOrder);
  await recordingApi(fetch).api.placeOrder('alice', 1n, 'x', { key: 'k' });
  assert.instance(seen[0]?.init?.signal, AbortSignal);
  assert.instance(seen[1]?.init?.signal, AbortSignal);
  assert.is.not(seen[0]?.init?.signal, seen[1]?.init?.signal);
});

writes('a 503’s Retry-After is how long to wait; one too long is not waited for', async () => {
  const soon = scripted(unavailable('2'), placedOrder);
  const waited = recordingApi(soon.fetch);
  await waited.api.placeOrder('alice', 1n, 'x', { key: 'k' });
  assert.equal(waited.slept, [2000]);

  const late = scripted(unavailable('120'), placedOrder);
  const gaveUp = recordingApi(late.fetch);
  const error = await failure(gaveUp.api.placeOrder('alice', 1n, 'x', { key: 'k' }));
  assert.is(error.code, 'SERVICE_UNAVAILABLE');
  assert.is(error.retryAfterMs, 120_000);
  assert.is(late.seen.length, 1, 'not sent again');
});

writes('a 429 (over the gateway’s budget) is sent again after its Retry-After, under the same key', async () => {
  const tooMany = () =>
    new Response(JSON.stringify({ error: { code: 'TOO_MANY_REQUESTS', message: 'slow down' } }), {
      status: 429,
      headers: { 'content-type': 'application/json', 'retry-after': '1' },
    });
  const { fetch, seen } = scripted(tooMany, placedOrder);
  const waited = recordingApi(fetch);
  await waited.api.placeOrder('alice', 1n, 'x', { key: 'k' });
  assert.equal(waited.slept, [1000]);
  assert.is(seen.length, 2);
  assert.equal(
    seen.map((call) => new Headers(call.init?.headers).get('idempotency-key')),
    ['k', 'k'],
  );
});

writes('the retries are bounded: no answer ever → three attempts, then an error in words', async () => {
  const { fetch, seen } = scripted(noAnswer);
  const { api, slept } = recordingApi(fetch);
  const retries: number[] = [];
  const error = await failure(api.placeOrder('alice', 1n, 'x', { key: 'k', onRetry: (r) => retries.push(r.attempt) }));
  assert.is(seen.length, 3);
  assert.equal(retries, [2, 3]);
  assert.equal(slept, [1000, 2000]);
  assert.is(error.code, 'NETWORK');
  assert.match(errorText(error), /^The gateway at http:\/\/localhost:8080 cannot be reached/);

  const always503 = scripted(unavailable('1'));
  const gave = await failure(recordingApi(always503.fetch, { writeAttempts: 2 }).api.openWallet('alice', { key: 'k' }));
  assert.is(always503.seen.length, 2, 'writeAttempts bounds it');
  assert.is(errorText(gave), 'The service behind the gateway is unavailable, try again.');
});

writes('a refusal or a server error is not retried automatically', async () => {
  for (const answer of [
    () => json(400, { error: { code: 'INVALID_AMOUNT', message: 'amount must be positive' } }),
    () => json(409, { error: { code: 'BALANCE_LIMIT', message: 'too much' } }),
    () => json(422, { error: { code: 'IDEMPOTENCY_KEY_REUSED', message: 'reused' } }),
    () => json(500, { error: { code: 'INTERNAL', message: 'internal error' } }),
    () => new Response('{"nope": 1}', { status: 201 }),
  ]) {
    const { fetch, seen } = scripted(answer, placedOrder);
    await failure(recordingApi(fetch).api.placeOrder('alice', 1n, 'x', { key: 'k' }));
    assert.is(seen.length, 1);
  }
});

writes('a GET is not retried by the client (the order list polls again by itself)', async () => {
  const { fetch, seen } = scripted(noAnswer, () => json(200, { user_id: 'alice', orders: [] }));
  await failure(recordingApi(fetch).api.listOrders('alice'));
  assert.is(seen.length, 1);
});

writes('Retry-After: seconds or an HTTP date', () => {
  assert.is(parseRetryAfter('1'), 1000);
  assert.is(parseRetryAfter(' 30 '), 30_000);
  assert.is(parseRetryAfter(null), null);
  assert.is(parseRetryAfter('soon'), null);
  const now = Date.parse('2026-11-25T10:00:00Z');
  assert.is(parseRetryAfter('Wed, 25 Nov 2026 10:00:05 GMT', now), 5000);
  assert.is(parseRetryAfter('Wed, 25 Nov 2026 09:00:00 GMT', now), 0);
});

writes.run();
