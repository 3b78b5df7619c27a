import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ApiError, asSentence, createApi, errorText, type FetchLike } from '../../src/lib/api.ts';

const BASE = 'http://localhost:8080';
const BILL = '7c0c8b0e-7c0c-4b0e-8b0e-7c0c8b0e7c0c';
const ORDER = '3f2b1a00-1111-4222-8333-944455556666';

interface Seen {
  url: string;
  init: RequestInit | undefined;
}

/** A fetch that records what it was asked and answers with the given response (or throws). */
function fakeFetch(answer: () => Response | Promise<Response>) {
  const seen: Seen[] = [];
  const fetch: FetchLike = async (url, init) => {
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
  const { fetch, seen } = fakeFetch(() => json(201, { bill_id: BILL, user_id: 'alice', balance: 0 }));
  const wallet = await createApi({ baseUrl: `${BASE}/`, fetch }).openWallet('alice');
  assert.equal(wallet, { billId: BILL, userId: 'alice', balance: 0n });
  assert.is(seen[0]?.url, `${BASE}/payments/create/alice`, 'a trailing slash of the base is dropped');
  assert.is(seen[0]?.init?.method, 'POST');
  assert.is(seen[0]?.init?.body, undefined);
});

success('topUp sends the amount as a JSON number of rubles', async () => {
  const { fetch, seen } = fakeFetch(() => json(200, { bill_id: BILL, user_id: 'alice', balance: 500.5 }));
  const wallet = await createApi({ baseUrl: BASE, fetch }).topUp(BILL, 50050n);
  assert.is(wallet.balance, 50050n);
  assert.is(seen[0]?.url, `${BASE}/payments/add/${BILL}`);
  assert.is(seen[0]?.init?.body, '{"amount":500.5}');
  assert.is((seen[0]?.init?.headers as Record<string, string>)['content-type'], 'application/json');
});

success('placeOrder sends amount and description and reads the order', async () => {
  const { fetch, seen } = fakeFetch(() => json(201, orderJson));
  const order = await createApi({ baseUrl: BASE, fetch }).placeOrder('alice', 14990n, 'a book');
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
  assert.equal(JSON.parse(String(seen[0]?.init?.body)), { amount: 149.9, description: 'a book' });
});

success('listOrders reads the list in the order given, with cancel reasons', async () => {
  const cancelled = { ...orderJson, order_id: BILL, status: 'CANCELLED', cancel_reason: 'INSUFFICIENT_FUNDS', amount: 1000000000000 };
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
  const { fetch, seen } = fakeFetch(() => json(200, { bill_id: BILL, user_id: 'alice', balance: 350.6 }));
  const api = createApi({ baseUrl: BASE, fetch });
  assert.is((await api.balance(BILL)).balance, 35060n);
  assert.is(seen[0]?.init?.method, 'GET');
  assert.is(seen[0]?.init?.body, undefined);
  const status = fakeFetch(() => json(200, { ...orderJson, status: 'FINISHED' }));
  assert.is((await createApi({ baseUrl: BASE, fetch: status.fetch }).orderStatus(ORDER)).status, 'FINISHED');
  assert.is(status.seen[0]?.url, `${BASE}/orders/status/${ORDER}`);
});

success.run();

const errors = suite('the API client: errors become words');

errors('the JSON error shape → ApiError with the server’s code and message', async () => {
  const { fetch } = fakeFetch(() => json(400, { error: { code: 'INVALID_AMOUNT', message: 'amount must have at most two decimals' } }));
  const error = await failure(createApi({ baseUrl: BASE, fetch }).placeOrder('alice', 1n, 'x'));
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
    const error = await failure(createApi({ baseUrl: BASE, fetch }).balance(BILL));
    assert.is(error.status, status);
    assert.is(error.code, code);
    assert.is(error.message, `the ${code} message`);
  }
});

errors('a 502 with an HTML body → words with the status, no HTML', async () => {
  const { fetch } = fakeFetch(
    () => new Response('<html><body><h1>502 Bad Gateway</h1></body></html>', { status: 502, statusText: 'Bad Gateway', headers: { 'content-type': 'text/html' } }),
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
    const error = await failure(createApi({ baseUrl: BASE, fetch }).balance(BILL));
    assert.is(error.code, 'HTTP_500', body);
    assert.match(error.message, /The gateway answered 500 Internal Server Error/, body);
  }
});

errors('a network failure → "The gateway at … cannot be reached"', async () => {
  const { fetch } = fakeFetch(() => {
    throw new TypeError('Failed to fetch');
  });
  const error = await failure(createApi({ baseUrl: BASE, fetch }).openWallet('alice'));
  assert.is(error.kind, 'network');
  assert.is(error.status, null);
  assert.is(error.code, 'NETWORK');
  assert.match(error.message, /^The gateway at http:\/\/localhost:8080 cannot be reached/);
});

errors('a time-out → words saying the gateway did not answer in time', async () => {
  const { fetch } = fakeFetch(() => {
    throw new DOMException('The operation was aborted due to timeout', 'TimeoutError');
  });
  const error = await failure(createApi({ baseUrl: BASE, fetch, timeoutMs: 5000 }).balance(BILL));
  assert.is(error.code, 'TIMEOUT');
  assert.match(error.message, /did not answer within 5 s/);
});

errors('each request carries a time-out signal', async () => {
  const { fetch, seen } = fakeFetch(() => json(200, { bill_id: BILL, user_id: 'alice', balance: 1 }));
  await createApi({ baseUrl: BASE, fetch }).balance(BILL);
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
    const error = await failure(createApi({ baseUrl: BASE, fetch }).balance(BILL));
    assert.is(error.kind, 'invalid-response', body);
    assert.is(error.code, 'INVALID_RESPONSE');
    assert.match(error.message, /^The gateway sent an answer the shop does not understand/);
    assert.match(error.message, detail, body);
  }
});

errors('an order with an unknown status or reason is refused, not shown wrongly', async () => {
  for (const bad of [{ ...orderJson, status: 'PAID' }, { ...orderJson, cancel_reason: 'FRAUD' }, { ...orderJson, amount: null }]) {
    const { fetch } = fakeFetch(() => json(200, { user_id: 'alice', orders: [bad] }));
    const error = await failure(createApi({ baseUrl: BASE, fetch }).listOrders('alice'));
    assert.is(error.kind, 'invalid-response');
  }
  const { fetch } = fakeFetch(() => json(200, { user_id: 'alice' }));
  assert.is((await failure(createApi({ baseUrl: BASE, fetch }).listOrders('alice'))).kind, 'invalid-response');
});

errors('errorText words anything thrown', () => {
  assert.is(errorText(new ApiError('http', 409, 'BALANCE_LIMIT', 'the balance would pass the limit')), 'The balance would pass the limit.');
  assert.is(errorText(new ApiError('network', null, 'NETWORK', 'The gateway at x cannot be reached. Check it.')), 'The gateway at x cannot be reached. Check it.');
  assert.is(errorText(new Error('boom')), 'Something went wrong: boom');
  assert.is(errorText('just a string'), 'Something went wrong.');
});

errors('asSentence capitalises and ends a server message', () => {
  assert.is(asSentence('request body is not valid JSON'), 'Request body is not valid JSON.');
  assert.is(asSentence('try again!'), 'Try again!');
  assert.is(asSentence('  '), '');
});

errors.run();
