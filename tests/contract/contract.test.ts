import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import {
  GATEWAY,
  gateway,
  readEventStream,
  startStack,
  waitFor,
  type RawRequest,
  type ServerSentEvent,
  type Stack,
} from '@gozon/testkit';
import { Contract, SPEC_FILE, UI_ORIGIN, safeJson, snippet } from './openapi-contract.ts';

// full-openapi.yaml enforced through the gateway on :8080: the system scenario,
// the idempotency rules and a table of hostile requests, every response checked
// against the spec; then every operation and documented status must have been
// produced, and no refused request may have changed a balance or an order count.

const ROOT = resolve(import.meta.dirname, '../..');
const contract = Contract.load();
const test = suite('full-openapi.yaml, enforced through :8080');

/**
 * Statuses that no test can provoke without breaking the stack on purpose; all
 * others that the spec documents must have been seen.
 */
const UNPROVOKABLE: Record<string, string> = {
  '500': 'INTERNAL: an unexpected error in a service; no input is meant to cause one',
  '503': 'SERVICE_UNAVAILABLE: needs a service or its database down (the fault suite does that)',
};

/** More than the test ever has in flight at once (8 racing requests), fewer than it can open. */
const CONNECTIONS_PER_CLIENT = 16;

type Sent = Awaited<ReturnType<typeof send>>;

let problems: string[] = [];
let stack: Stack;

/**
 * Every order in an answer carries `id` as well as `order_id`, the same value (the published contract's name for it):
 * the spec requires both, but JSON Schema cannot say that they are equal.
 */
function aliasProblems(label: string, body: any): string[] {
  const orders: Array<{ id?: unknown; order_id: unknown }> = Array.isArray(body?.orders)
    ? body.orders
    : typeof body?.order_id === 'string'
      ? [body]
      : [];
  return orders
    .filter((order) => order.id !== order.order_id)
    .map((order) => `${label}: id ${JSON.stringify(order.id)} is not order_id ${JSON.stringify(order.order_id)}`);
}

/** Every error body names its request as the X-Request-Id response header does (JSON Schema cannot say so). */
function requestIdProblems(label: string, exchange: { json: any; headers: Headers }): string[] {
  const error = exchange.json?.error;
  if (error === undefined) return [];
  const header = exchange.headers.get('x-request-id');
  return error.request_id === header
    ? []
    : [`${label}: error.request_id ${JSON.stringify(error.request_id)} is not X-Request-Id ${header}`];
}

/** One request through the gateway; its exchange is checked against the spec at once. */
async function send(method: string, path: string, request: RawRequest = {}) {
  try {
    const exchange = await gateway.request(method, path, request);
    problems.push(...contract.check(exchange));
    problems.push(...aliasProblems(`${method} ${path}`, exchange.json));
    problems.push(...requestIdProblems(`${method} ${path}`, exchange));
    return exchange;
  } catch (error) {
    // The gateway dropped the connection (or fetch refused to send): no HTTP answer at all.
    const cause = (error as Error & { cause?: Error }).cause?.message ?? '';
    problems.push(`${method} ${path}: no HTTP response: ${(error as Error).message} ${cause}`);
    return {
      method,
      path,
      requestHeaders: request.headers ?? {},
      requestBody: request.body,
      status: 0,
      headers: new Headers(),
      text: '',
      json: undefined as any,
    };
  }
}

function expect(what: string, sent: Sent, status: number, code?: string) {
  if (sent.status !== status || (code !== undefined && sent.json?.error?.code !== code)) {
    problems.push(`${what}: expected ${status}${code ? ` ${code}` : ''}, got ${sent.status} ${snippet(sent.text)}`);
  }
}

/** Fails the current test with every problem found in it, not only the first. */
function settle() {
  const found = [...new Set(problems)];
  problems = [];
  if (found.length > 0) console.log(`\n${found.length} problem(s):\n  ${found.join('\n  ')}\n`);
  assert.is(found.length, 0, `${found.length} problem(s), listed above`);
}

const json = (value: unknown) => JSON.stringify(value);

async function finalOrder(orderId: string) {
  return waitFor(`order ${orderId} to leave NEW`, async () => {
    const { json } = await send('GET', `/orders/status/${orderId}`);
    return json?.status !== 'NEW' ? json : undefined;
  });
}

// What the scenario and the idempotency test leave behind, for the hostile table.
const wallets: Record<string, string> = {};
const orderUsers = new Set<string>();

async function openWallet(user: string, headers: Record<string, string> = {}) {
  const opened = await send('POST', `/payments/create/${user}`, { headers });
  wallets[user] = opened.json?.bill_id;
  return opened;
}

async function placeOrder(user: string, body: unknown, headers: Record<string, string> = {}) {
  orderUsers.add(user);
  return send('POST', `/orders/create/${user}`, { body: json(body), headers });
}

/** Σ of the balances of every wallet this test opened, in kopecks, and each user's order count. */
async function snapshot() {
  let kopecks = 0n;
  for (const bill of Object.values(wallets)) {
    const wallet = await send('GET', `/payments/balance/${bill}`);
    kopecks += BigInt(Math.round(wallet.json.balance * 100));
  }
  const orders: Record<string, number> = {};
  for (const user of orderUsers)
    orders[user] = (await send('GET', `/orders/orders/${user}?limit=500`)).json.orders.length;
  return { kopecks, orders };
}

test.before(async () => {
  try {
    // The gateway's budgets are lifted, save the connections an address may hold: the 429 test spends them.
    stack = await startStack('contract', { GATEWAY_CONNECTIONS_PER_CLIENT: String(CONNECTIONS_PER_CLIENT) });
  } catch (error) {
    console.error(`startStack failed: ${(error as Error).message}`); // uvu does not print a failing hook's error
    throw error;
  }
});

test.before.each(() => {
  problems = [];
});

test.after(async () => {
  if (!stack) return; // startStack failed, and said why
  const code = await stack.stop();
  assert.is(code, 0, `Ctrl-C stops every process cleanly:\n${stack.output()}`);
});

test('the spec is valid OpenAPI 3.1, its examples conform, and it lists every route of the gateway and the services', async () => {
  await SwaggerParser.validate(SPEC_FILE);
  problems.push(...contract.exampleProblems());

  const paths = contract.spec.paths as Record<string, Record<string, unknown>>;
  const gateway = readFileSync(resolve(ROOT, 'gateway/default.conf.template'), 'utf8');
  for (const [, exact] of gateway.matchAll(/location\s+=\s+(\/\S+)\s*\{(?![^}]*\binternal;)/g)) {
    if (!paths[exact!]) problems.push(`gateway location = ${exact} is not a path of the spec`);
  }
  for (const [, prefix] of gateway.matchAll(/location\s+(\/[^\s@]+\/)\s*\{/g)) {
    if (!Object.keys(paths).some((path) => path.startsWith(prefix!)))
      problems.push(`gateway location ${prefix} has no path in the spec`);
  }
  for (const [file, mount] of [
    ['orders-api/src/orders-routes.ts', '/orders'],
    ['orders-api/src/order-events-routes.ts', '/orders/events'],
    ['payments-api/src/payments-routes.ts', '/payments'],
  ] as const) {
    const source = readFileSync(resolve(ROOT, file), 'utf8');
    for (const [, method, route] of source.matchAll(/\.(get|post|put|patch|delete)\(\s*'(\/[^']*)'/g)) {
      const path = mount + route!.replace(/:(\w+)/g, '{$1}');
      if (!paths[path]?.[method!])
        problems.push(`${file} serves ${method!.toUpperCase()} ${path}, which the spec lacks`);
    }
  }
  settle();
});

test('the system scenario: wallet, top-up, orders paid and refused, list, balance, status, docs', async () => {
  const health = await send('GET', '/health');
  expect('health', health, 200);
  expect('HEAD health', await send('HEAD', '/health'), 200);

  const yaml = await send('GET', '/openapi.yaml', { headers: { Origin: UI_ORIGIN } });
  expect('the spec', yaml, 200);
  assert.is(yaml.text, readFileSync(SPEC_FILE, 'utf8'), 'GET /openapi.yaml is this very file');
  expect('HEAD the spec', await send('HEAD', '/openapi.yaml'), 200);
  const docs = await send('GET', '/docs');
  expect('docs', docs, 200);
  assert.match(docs.text, /swagger-ui/i);
  expect('HEAD docs', await send('HEAD', '/docs'), 200);
  const assets = [...docs.text.matchAll(/(?:src|href)="(\/docs\/[^"]+)"/g)].map((m) => m[1]!);
  assert.ok(assets.length >= 2, `the docs page loads Swagger UI from /docs/…: ${assets.join(',')}`);
  const loaded = [];
  for (const asset of assets) {
    loaded.push(await send('GET', asset));
    expect(asset, loaded.at(-1)!, 200);
  }
  assert.ok(
    loaded.some((asset) => asset.text.includes("url: '/openapi.yaml'")),
    'a script of the page starts Swagger UI on the spec',
  );

  const opened = await openWallet('contract-alice', { Origin: UI_ORIGIN });
  expect('open wallet', opened, 201);
  assert.equal([opened.json.user_id, opened.json.balance], ['contract-alice', 0]);
  const again = await send('POST', '/payments/create/contract-alice', { headers: { Origin: 'http://evil.example' } });
  expect('open it again', again, 200);
  assert.is(again.json.bill_id, opened.json.bill_id, 'one wallet per user');
  const bill = opened.json.bill_id as string;

  const topped = await send('POST', `/payments/add/${bill}`, {
    body: '{"amount": 500.50}',
    headers: { Origin: UI_ORIGIN },
  });
  expect('top up', topped, 200);
  assert.is(topped.json.balance, 500.5);
  expect(
    'top up, JSON with charset, any case',
    await send('POST', `/payments/add/${bill}`, {
      body: '{"amount": 0.01}',
      contentType: 'Application/JSON; charset=utf-8',
    }),
    200,
  );

  const placed = await placeOrder(
    'contract-alice',
    { amount: 149.9, description: '  a book  ' },
    { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
  );
  expect('place an order', placed, 201);
  assert.equal([placed.json.status, placed.json.amount, placed.json.description], ['NEW', 149.9, 'a book']);
  assert.is(
    placed.json.id,
    placed.json.order_id,
    'an order carries id, the same as order_id (and so does every order)',
  );
  const paid = await finalOrder(placed.json.order_id);
  assert.equal([paid.status, paid.cancel_reason], ['FINISHED', null]);
  expect('HEAD status', await send('HEAD', `/orders/status/${placed.json.order_id}`), 200);
  expect('status, upper-case id', await send('GET', `/orders/status/${placed.json.order_id.toUpperCase()}`), 200);

  const balance = await send('GET', `/payments/balance/${bill}`, { headers: { Origin: UI_ORIGIN } });
  expect('balance', balance, 200);
  assert.is(balance.json.balance, 350.61);
  expect('HEAD balance', await send('HEAD', `/payments/balance/${bill}`), 200);
  expect('balance, upper-case id', await send('GET', `/payments/balance/${bill.toUpperCase()}`), 200);

  const tooMuch = await placeOrder('contract-alice', { amount: 1000, description: 'more than the wallet holds' });
  expect('order above the balance', tooMuch, 201);
  const refused = await finalOrder(tooMuch.json.order_id);
  assert.equal([refused.status, refused.cancel_reason], ['CANCELLED', 'INSUFFICIENT_FUNDS']);

  const nobody = await placeOrder('contract-nobody', { amount: 5, description: 'nothing to pay with' });
  expect('order without a wallet', nobody, 201);
  const cancelled = await finalOrder(nobody.json.order_id);
  assert.equal([cancelled.status, cancelled.cancel_reason], ['CANCELLED', 'NO_ACCOUNT']);
  const longest = await placeOrder('contract-nobody', { amount: 0.01, description: '🛒'.repeat(500) });
  expect('a description of 500 code points', longest, 201);
  await finalOrder(longest.json.order_id);

  const ids = [];
  for (const description of ['first', 'second', 'third'])
    ids.push((await placeOrder('contract-lister', { amount: 1, description })).json.order_id);
  const list = await send('GET', '/orders/orders/contract-lister');
  expect('list', list, 200);
  assert.equal(
    list.json.orders.map((o: { order_id: string }) => o.order_id),
    [...ids].reverse(),
  );
  const limited = await send('GET', '/orders/orders/contract-lister?limit=02');
  expect('list with limit=02', limited, 200);
  assert.is(limited.json.orders.length, 2);
  expect('HEAD list', await send('HEAD', '/orders/orders/contract-lister?limit=500'), 200);
  const empty = await send('GET', `/orders/orders/${'u'.repeat(64)}`);
  expect('a user of 64 characters without orders', empty, 200);
  assert.equal(empty.json.orders, []);
  for (const id of ids) await finalOrder(id);

  // The wallet for BALANCE_LIMIT, filled to the most a wallet may hold.
  const rich = await openWallet('contract-rich');
  expect('open the rich wallet', rich, 201);
  const full = await send('POST', `/payments/add/${rich.json.bill_id}`, { body: '{"amount": 1000000000000}' });
  expect('top up to the limit', full, 200);
  assert.is(full.json.balance, 1e12);

  for (const path of [
    '/payments/create/x',
    `/payments/add/${bill}`,
    `/payments/balance/${bill}`,
    '/orders/create/x',
    '/orders/orders/x',
    `/orders/status/${placed.json.order_id}`,
  ]) {
    const preflight = await send('OPTIONS', path, {
      headers: {
        Origin: UI_ORIGIN,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type, idempotency-key',
      },
    });
    expect(`preflight ${path}`, preflight, 204);
  }
  expect(
    'preflight from another origin',
    await send('OPTIONS', '/orders/create/x', { headers: { Origin: 'http://evil.example' } }),
    204,
  );
  settle();
});

test('Idempotency-Key: replay, reuse, concurrency, refusals store nothing, one key space per service', async () => {
  const open = await openWallet('contract-idem', { 'Idempotency-Key': 'open-idem' });
  expect('open with a key', open, 201);
  assert.is(open.headers.get('idempotent-replayed'), null, 'a first request is not a replay');
  const bill = open.json.bill_id as string;
  const reopened = await send('POST', '/payments/create/contract-idem', {
    headers: { 'Idempotency-Key': 'open-idem' },
  });
  expect('open again with the key', reopened, 201);
  assert.is(reopened.headers.get('idempotent-replayed'), 'true');
  assert.is(reopened.text, open.text, 'the stored body, byte for byte');

  const top = await send('POST', `/payments/add/${bill}`, {
    body: '{"amount": 25}',
    headers: { 'Idempotency-Key': 'top-idem' },
  });
  expect('top up with a key', top, 200);
  assert.is(top.json.balance, 25);
  const retried = await send('POST', `/payments/add/${bill}`, {
    body: '{"amount": 25}',
    headers: { 'Idempotency-Key': 'top-idem' },
  });
  expect('the retry', retried, 200);
  assert.is(retried.headers.get('idempotent-replayed'), 'true');
  assert.is(retried.text, top.text);
  assert.is((await send('GET', `/payments/balance/${bill}`)).json.balance, 25, 'the retry credited nothing');

  const stale = await send('POST', '/payments/create/contract-idem', { headers: { 'Idempotency-Key': 'open-idem' } });
  expect('a replay after the wallet changed', stale, 201);
  assert.is(stale.json.balance, 0, 'a replay sends the stored body, stale as it is');

  for (const [what, path, body] of [
    ['another amount', `/payments/add/${bill}`, '{"amount": 26}'],
    ['the same JSON spaced otherwise', `/payments/add/${bill}`, '{"amount":25}'],
    ['another wallet', `/payments/add/${wallets['contract-alice']}`, '{"amount": 25}'],
  ] as const) {
    expect(
      `key reused: ${what}`,
      await send('POST', path, { body, headers: { 'Idempotency-Key': 'top-idem' } }),
      422,
      'IDEMPOTENCY_KEY_REUSED',
    );
  }
  expect(
    'key reused on another path of the service',
    await send('POST', '/payments/create/contract-idem-other', { headers: { 'Idempotency-Key': 'open-idem' } }),
    422,
    'IDEMPOTENCY_KEY_REUSED',
  );
  assert.is((await send('GET', `/payments/balance/${bill}`)).json.balance, 25, 'a reused key changed nothing');

  const order = await placeOrder(
    'contract-idem-orders',
    { amount: 3, description: 'once' },
    { 'Idempotency-Key': 'order-idem' },
  );
  expect('order with a key', order, 201);
  const orderAgain = await placeOrder(
    'contract-idem-orders',
    { amount: 3, description: 'once' },
    { 'Idempotency-Key': 'order-idem' },
  );
  expect('order retried', orderAgain, 201);
  assert.is(orderAgain.json.order_id, order.json.order_id);
  assert.is(orderAgain.headers.get('idempotent-replayed'), 'true');
  expect(
    'order key reused',
    await placeOrder('contract-idem-orders', { amount: 3, description: 'twice' }, { 'Idempotency-Key': 'order-idem' }),
    422,
    'IDEMPOTENCY_KEY_REUSED',
  );
  assert.is((await send('GET', '/orders/orders/contract-idem-orders')).json.orders.length, 1, 'one order placed');

  // Same key at the same time: the others wait for the first and replay it.
  const racing = await Promise.all(
    Array.from({ length: 8 }, () =>
      placeOrder('contract-idem-race', { amount: 2, description: 'raced' }, { 'Idempotency-Key': 'race-order' }),
    ),
  );
  racing.forEach((r, i) => expect(`racing order ${i}`, r, 201));
  assert.is(new Set(racing.map((r) => r.json.order_id)).size, 1, 'one order for eight requests');
  assert.is(racing.filter((r) => r.headers.get('idempotent-replayed') === 'true').length, 7);
  assert.is((await send('GET', '/orders/orders/contract-idem-race')).json.orders.length, 1);
  const racingTopUps = await Promise.all(
    Array.from({ length: 8 }, () =>
      send('POST', `/payments/add/${bill}`, { body: '{"amount": 5}', headers: { 'Idempotency-Key': 'race-top' } }),
    ),
  );
  racingTopUps.forEach((r, i) => expect(`racing top-up ${i}`, r, 200));
  assert.is((await send('GET', `/payments/balance/${bill}`)).json.balance, 30, 'credited once');

  // Only successes are stored: after a refusal the key is still free.
  expect(
    'refused: no such wallet',
    await send('POST', '/payments/add/01a21300-0000-7000-8000-000000000000', {
      body: '{"amount": 1}',
      headers: { 'Idempotency-Key': 'free-after-404' },
    }),
    404,
    'ACCOUNT_NOT_FOUND',
  );
  expect(
    'the key after a 404',
    await send('POST', `/payments/add/${bill}`, {
      body: '{"amount": 1}',
      headers: { 'Idempotency-Key': 'free-after-404' },
    }),
    200,
  );
  expect(
    'refused: bad amount',
    await send('POST', `/payments/add/${bill}`, {
      body: '{"amount": 1.001}',
      headers: { 'Idempotency-Key': 'free-after-400' },
    }),
    400,
    'INVALID_AMOUNT',
  );
  expect(
    'the key after a 400',
    await send('POST', `/payments/add/${bill}`, {
      body: '{"amount": 1.5}',
      headers: { 'Idempotency-Key': 'free-after-400' },
    }),
    200,
  );
  expect(
    'refused: over the limit',
    await send('POST', `/payments/add/${wallets['contract-rich']}`, {
      body: '{"amount": 1}',
      headers: { 'Idempotency-Key': 'free-after-409' },
    }),
    409,
    'BALANCE_LIMIT',
  );
  expect(
    'the key after a 409',
    await send('POST', `/payments/add/${bill}`, {
      body: '{"amount": 1}',
      headers: { 'Idempotency-Key': 'free-after-409' },
    }),
    200,
  );
  assert.is((await send('GET', `/payments/balance/${bill}`)).json.balance, 33.5);

  // orders-api and payments-api keep their own keys.
  expect('a key on payments', await openWallet('contract-idem-both', { 'Idempotency-Key': 'both-services' }), 201);
  expect(
    'the same key on orders',
    await placeOrder('contract-idem-both', { amount: 1, description: 'x' }, { 'Idempotency-Key': 'both-services' }),
    201,
  );
  expect(
    'a key of 255 characters',
    await send('POST', '/payments/create/contract-idem', { headers: { 'Idempotency-Key': '!~'.repeat(127) + 'k' } }),
    200,
  );

  // Leave nothing NEW behind: a debit later would move the balances the hostile table watches.
  for (const id of [order.json.order_id, racing[0]!.json.order_id]) await finalOrder(id);
  const both = await send('GET', '/orders/orders/contract-idem-both');
  for (const o of both.json.orders) await finalOrder(o.order_id);
  settle();
});

test('?user_id= on a wallet: its owner as without it; another user gets 404 as for no wallet, and nothing changes', async () => {
  const opened = await openWallet('contract-owner');
  const bill = opened.json.bill_id as string;
  const topped = await send('POST', `/payments/add/${bill}?user_id=contract-owner`, {
    body: '{"amount": 10}',
    headers: { Origin: UI_ORIGIN },
  });
  expect("the owner's top-up", topped, 200);
  assert.is(topped.json.balance, 10);
  const read = await send('GET', `/payments/balance/${bill}?user_id=contract-owner`, {
    headers: { Origin: UI_ORIGIN },
  });
  expect("the owner's balance", read, 200);
  assert.equal(read.json, topped.json);
  expect("HEAD the owner's balance", await send('HEAD', `/payments/balance/${bill}?user_id=contract-owner`), 200);

  const unknown = await send('GET', '/payments/balance/01a21300-0000-7000-8000-00000000dead');
  for (const [what, path, request] of [
    ['balance', `/payments/balance/${bill}?user_id=contract-alice`, {}],
    ['top-up', `/payments/add/${bill}?user_id=contract-alice`, { body: '{"amount": 5}' }],
    [
      'top-up with a key',
      `/payments/add/${bill}?user_id=contract-alice`,
      { body: '{"amount": 5}', headers: { 'Idempotency-Key': 'owner-idem' } },
    ],
  ] as const) {
    const method = what === 'balance' ? 'GET' : 'POST';
    const refused = await send(method, path, request);
    expect(`${what} as another user`, refused, 404, 'ACCOUNT_NOT_FOUND');
    assert.is(
      refused.json?.error?.message,
      unknown.json.error.message.replace('01a21300-0000-7000-8000-00000000dead', bill),
      'worded as for a wallet that does not exist',
    );
  }
  // The refusal stored nothing under the key; the owner's request takes it, and a retry naming another user is another request.
  const keyed = await send('POST', `/payments/add/${bill}?user_id=contract-owner`, {
    body: '{"amount": 5}',
    headers: { 'Idempotency-Key': 'owner-idem' },
  });
  expect('the same key, as the owner', keyed, 200);
  assert.is(keyed.headers.get('idempotent-replayed'), null);
  expect(
    'the key again, naming another user',
    await send('POST', `/payments/add/${bill}?user_id=contract-alice`, {
      body: '{"amount": 5}',
      headers: { 'Idempotency-Key': 'owner-idem' },
    }),
    422,
    'IDEMPOTENCY_KEY_REUSED',
  );
  assert.is(
    (await send('GET', `/payments/balance/${bill}`)).json.balance,
    15,
    "only the owner's top-ups were credited",
  );
  settle();
});

test('hostile input is refused with the documented error, and changes nothing', async () => {
  const alice = wallets['contract-alice']!;
  const rich = wallets['contract-rich']!;
  const idem = wallets['contract-idem']!;
  const unknownId = '01a21300-0000-7000-8000-00000000dead';
  const before = await snapshot();

  type Row = [what: string, method: string, path: string, status: number, code?: string, request?: RawRequest];
  const rows: Row[] = [];
  const topUp = `/payments/add/${alice}`;
  const order = '/orders/create/contract-alice';

  // Content-Type and bodies that are not one JSON object.
  for (const path of [topUp, order]) {
    rows.push([
      'no Content-Type',
      'POST',
      path,
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      { body: '{"amount": 5, "description": "x"}', contentType: null },
    ]);
    for (const type of [
      'text/plain',
      'application/jsonp',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'text/json',
      'application/json-patch+json',
    ]) {
      rows.push([
        `Content-Type ${type}`,
        'POST',
        path,
        415,
        'UNSUPPORTED_MEDIA_TYPE',
        { body: '{"amount": 5, "description": "x"}', contentType: type },
      ]);
    }
    rows.push(['no body at all', 'POST', path, 415, 'UNSUPPORTED_MEDIA_TYPE']);
    for (const body of [
      '',
      ' ',
      '{',
      '{"amount": 5,}',
      "{'amount': 5}",
      '[]',
      '[{"amount": 5}]',
      'null',
      '5',
      '"x"',
      'true',
      '{"amount": 5}{}',
      '{"amount": 05}',
      '{"amount": .5}',
      '{"amount": +5}',
      '{"amount": 0x10}',
      '{"amount": NaN}',
      '{"amount": Infinity}',
      '{"amount": -Infinity}',
      '{"amount": 5 // comment\n}',
    ]) {
      rows.push([`malformed JSON ${json(body)}`, 'POST', path, 400, 'INVALID_JSON', { body }]);
    }
    rows.push([
      'an unknown field',
      'POST',
      path,
      400,
      'UNKNOWN_FIELD',
      { body: '{"amount": 5, "description": "x", "currency": "RUB"}' },
    ]);
    rows.push([
      'a field in another case',
      'POST',
      path,
      400,
      'UNKNOWN_FIELD',
      { body: '{"Amount": 5, "description": "x"}' },
    ]);
    rows.push([
      '__proto__ as a field',
      'POST',
      path,
      400,
      'UNKNOWN_FIELD',
      { body: '{"amount": 5, "description": "x", "__proto__": {"admin": true}}' },
    ]);
    rows.push([
      'an unknown field before a bad amount',
      'POST',
      path,
      400,
      'UNKNOWN_FIELD',
      { body: '{"amount": -1, "extra": 1}' },
    ]);
  }
  // Amounts.
  const amounts: Array<[string, string]> = [
    ['missing', '{}'],
    ['zero', '0'],
    ['0.00', '0.00'],
    ['negative zero', '-0'],
    ['negative', '-1'],
    ['a negative kopeck', '-0.01'],
    ['three decimals', '1.001'],
    ['a tenth of a kopeck', '0.001'],
    ['149.900', '149.900'],
    ['a string', '"5"'],
    ['a decimal string', '"149.90"'],
    ['null', 'null'],
    ['true', 'true'],
    ['an array', '[5]'],
    ['an object', '{"rubles": 5}'],
    ['an exponent', '1e2'],
    ['an upper-case exponent', '1E2'],
    ['a fractional exponent', '1.5e1'],
    ['a negative exponent', '1e-2'],
    ['a kopeck over 1e12', '1000000000000.01'],
    ['above 1e12', '1000000000001'],
    ['1e13 written out', '10000000000000'],
    ['400 digits', '1' + '0'.repeat(400)],
    ['1.0000000000000001 (a float would round it to 1)', '1.0000000000000001'],
  ];
  for (const [what, amount] of amounts) {
    const topUpBody = what === 'missing' ? '{}' : `{"amount": ${amount}}`;
    const orderBody = what === 'missing' ? '{"description": "x"}' : `{"amount": ${amount}, "description": "x"}`;
    rows.push([`amount ${what}`, 'POST', topUp, 400, 'INVALID_AMOUNT', { body: topUpBody }]);
    rows.push([`amount ${what}`, 'POST', order, 400, 'INVALID_AMOUNT', { body: orderBody }]);
  }
  // Descriptions.
  for (const [what, value] of [
    ['missing', undefined],
    ['empty', ''],
    ['only spaces', '   '],
    ['only a tab and a newline', '\t\n'],
    ['501 characters', 'x'.repeat(501)],
    ['501 code points after trimming', ` ${'🛒'.repeat(501)} `],
    ['a NUL', 'a\u0000b'],
    ['a bell', 'ring\u0007'],
    ['a newline inside', 'two\nlines'],
    ['DEL', 'a\u007fb'],
    ['a C1 control', 'a\u0085b'],
    ['a number', 5],
    ['null', null],
    ['an array', ['x']],
  ] as const) {
    const body = value === undefined ? '{"amount": 5}' : json({ amount: 5, description: value });
    rows.push([`description ${what}`, 'POST', order, 400, 'INVALID_DESCRIPTION', { body }]);
  }
  // Sizes: over 16 KiB is 413 from the gateway; exactly 16 KiB gets through to the checks.
  const sized = (bytes: number) => {
    const head = '{"amount": 5, "description": "';
    return head + 'x'.repeat(bytes - head.length - 2) + '"}';
  };
  rows.push(['a body of 16 KiB + 1', 'POST', order, 413, 'PAYLOAD_TOO_LARGE', { body: sized(16 * 1024 + 1) }]);
  rows.push(['a body of 64 KiB', 'POST', topUp, 413, 'PAYLOAD_TOO_LARGE', { body: sized(64 * 1024) }]);
  rows.push([
    'a body of 20 KB on open wallet',
    'POST',
    '/payments/create/contract-alice',
    413,
    'PAYLOAD_TOO_LARGE',
    { body: sized(20_000) },
  ]);
  rows.push(['a body of exactly 16 KiB', 'POST', order, 400, 'INVALID_DESCRIPTION', { body: sized(16 * 1024) }]);

  // User ids (percent-encoded as a client would send them).
  const badUsers: Array<[string, string]> = [
    ['65 characters', 'u'.repeat(65)],
    ['a leading space', '%20alice'],
    ['a space inside', 'al%20ice'],
    ['a plus', 'al+ice'],
    ['an accented letter', 'al%C3%A9'],
    ['Cyrillic', '%D0%B0%D0%BB%D0%B8%D1%81%D0%B0'],
    ['an emoji', '%F0%9F%98%80'],
    ['a leading dot', '.alice'],
    ['a leading dash', '-alice'],
    ['an encoded slash', 'alice%2Fbob'],
    ['a percent sign', 'al%25ice'],
    ['a newline', 'alice%0A'],

    ['a quote', 'al%22ice'],
    ['an encoded ../ that nginx would resolve', '..%2F..%2Fhealth'],
  ];
  // What nginx itself cannot parse never reaches a service: the gateway answers, in the one shape.
  for (const [what, user] of [
    ['a NUL', 'a%00b'],
    ['a malformed escape', 'a%zz'],
  ]) {
    rows.push([`user_id ${what}`, 'POST', `/payments/create/${user}`, 400, 'MALFORMED_REQUEST']);
    rows.push([
      `user_id ${what}`,
      'POST',
      `/orders/create/${user}`,
      400,
      'MALFORMED_REQUEST',
      { body: '{"amount": 5, "description": "x"}' },
    ]);
    rows.push([`user_id ${what}`, 'GET', `/orders/orders/${user}`, 400, 'MALFORMED_REQUEST']);
  }
  rows.push(['a NUL in an unknown path', 'GET', '/nope%00', 400, 'MALFORMED_REQUEST']);
  for (const [what, user] of badUsers) {
    rows.push([`user_id ${what}`, 'POST', `/payments/create/${user}`, 400, 'INVALID_USER_ID']);
    rows.push([
      `user_id ${what}`,
      'POST',
      `/orders/create/${user}`,
      400,
      'INVALID_USER_ID',
      { body: '{"amount": 5, "description": "x"}' },
    ]);
    rows.push([`user_id ${what}`, 'GET', `/orders/orders/${user}`, 400, 'INVALID_USER_ID']);
  }
  rows.push(['HEAD with a bad user_id', 'HEAD', '/orders/orders/al%20ice', 400]);
  // Limits.
  for (const limit of ['0', '501', '-1', '1.5', '1e2', '', 'abc', '%2B5', '%205', '0x10', '99999999999999999999']) {
    rows.push([`limit=${limit}`, 'GET', `/orders/orders/contract-alice?limit=${limit}`, 400, 'INVALID_LIMIT']);
  }
  rows.push(['HEAD with a bad limit', 'HEAD', '/orders/orders/contract-alice?limit=0', 400]);
  // Ids.
  for (const id of [
    '123',
    'not-a-uuid',
    '01a21300-0000-7000-8000-00000000dea',
    '01a21300-0000-7000-8000-00000000deadd',
    '01a21300000070008000000000000dead',
    '%7B01a21300-0000-7000-8000-00000000dead%7D',
    '01a21300-0000-7000-8000-00000000deag',
    '01a21300-0000-7000-8000-00000000dead%20',
  ]) {
    rows.push([`bill_id ${id}`, 'GET', `/payments/balance/${id}`, 400, 'INVALID_ID']);
    rows.push([`bill_id ${id}`, 'POST', `/payments/add/${id}`, 400, 'INVALID_ID', { body: '{"amount": 5}' }]);
    rows.push([`order_id ${id}`, 'GET', `/orders/status/${id}`, 400, 'INVALID_ID']);
  }
  rows.push(['HEAD a bad bill_id', 'HEAD', '/payments/balance/123', 400]);
  rows.push(['HEAD a bad order_id', 'HEAD', '/orders/status/123', 400]);
  for (const id of [unknownId, unknownId.toUpperCase()]) {
    rows.push(['an unknown wallet', 'GET', `/payments/balance/${id}`, 404, 'ACCOUNT_NOT_FOUND']);
    rows.push([
      'top up an unknown wallet',
      'POST',
      `/payments/add/${id}`,
      404,
      'ACCOUNT_NOT_FOUND',
      { body: '{"amount": 5}' },
    ]);
    rows.push(['an unknown order', 'GET', `/orders/status/${id}`, 404, 'ORDER_NOT_FOUND']);
  }
  rows.push(['HEAD an unknown wallet', 'HEAD', `/payments/balance/${unknownId}`, 404]);
  // ?user_id= of another user: as an unknown wallet; malformed: 400.
  for (const user of ['contract-rich', 'contract-ALICE', 'nobody-at-all']) {
    rows.push([`another user's wallet`, 'GET', `/payments/balance/${alice}?user_id=${user}`, 404, 'ACCOUNT_NOT_FOUND']);
    rows.push(["HEAD another user's wallet", 'HEAD', `/payments/balance/${alice}?user_id=${user}`, 404]);
    rows.push([
      `top up another user's wallet`,
      'POST',
      `/payments/add/${alice}?user_id=${user}`,
      404,
      'ACCOUNT_NOT_FOUND',
      { body: '{"amount": 5}' },
    ]);
  }
  for (const [what, user] of [...badUsers, ['empty', '']]) {
    rows.push([`?user_id= ${what}`, 'GET', `/payments/balance/${alice}?user_id=${user}`, 400, 'INVALID_USER_ID']);
    rows.push([
      `?user_id= ${what}`,
      'POST',
      `/payments/add/${alice}?user_id=${user}`,
      400,
      'INVALID_USER_ID',
      { body: '{"amount": 5}' },
    ]);
  }
  rows.push(['HEAD with a bad ?user_id=', 'HEAD', `/payments/balance/${alice}?user_id=%20`, 400]);
  rows.push(['HEAD an unknown order', 'HEAD', `/orders/status/${unknownId}`, 404]);
  // The wallet limit.
  rows.push([
    'a kopeck past the limit',
    'POST',
    `/payments/add/${rich}`,
    409,
    'BALANCE_LIMIT',
    { body: '{"amount": 0.01}' },
  ]);
  rows.push([
    'the limit again',
    'POST',
    `/payments/add/${rich}`,
    409,
    'BALANCE_LIMIT',
    { body: '{"amount": 1000000000000}' },
  ]);

  // Every wrong method the spec lists, with and without a valid parameter, with a body that would succeed.
  const example = (template: string, valid: boolean) =>
    template
      .replace('{user_id}', valid ? 'contract-alice' : 'bad%20user')
      .replace('{bill_id}', valid ? alice : 'not-a-uuid')
      .replace('{order_id}', valid ? unknownId : 'not-a-uuid');
  for (const operation of contract.operations.filter((o) => o.statuses.includes('405'))) {
    for (const valid of [true, false]) {
      const path = example(operation.template, valid);
      if (!valid && path === operation.template) continue;
      const body =
        operation.method === 'head' || operation.method === 'get' ? undefined : '{"amount": 5, "description": "x"}';
      rows.push([
        `${operation.key}`,
        operation.method.toUpperCase(),
        path,
        405,
        operation.method === 'head' ? undefined : 'METHOD_NOT_ALLOWED',
        { body },
      ]);
    }
  }
  // Unknown paths.
  for (const [method, path] of [
    ['GET', '/nope'],
    ['POST', '/nope'],
    ['DELETE', '/nope'],
    ['GET', '/orders/unknown'],
    ['PUT', '/payments/unknown'],
    ['GET', '/payments/'],
    ['POST', '/orders/create/'],
    ['POST', '/orders/create/contract-alice/extra'],
    ['GET', `/payments/balance/${alice}/`],
    ['GET', '/ORDERS/orders/contract-alice'],
    ['GET', '/orders//orders/contract-alice'],
    ['GET', '/health/ready'],
    ['GET', '/orders/health/ready'],
    ['GET', '/openapi.json'],
    ['GET', '/docs/'],
    ['GET', '/docs/no-such-file.js'],
  ] as const) {
    rows.push([`unknown path`, method, path, 404, 'NOT_FOUND']);
  }
  // Idempotency keys: replays change nothing, reuse is 422, malformed keys 400.
  rows.push([
    'a replayed top-up',
    'POST',
    `/payments/add/${idem}`,
    200,
    undefined,
    { body: '{"amount": 25}', headers: { 'Idempotency-Key': 'top-idem' } },
  ]);
  rows.push([
    'a replayed order',
    'POST',
    '/orders/create/contract-idem-orders',
    201,
    undefined,
    { body: '{"amount":3,"description":"once"}', headers: { 'Idempotency-Key': 'order-idem' } },
  ]);
  rows.push([
    'a replayed wallet',
    'POST',
    '/payments/create/contract-idem',
    201,
    undefined,
    { headers: { 'Idempotency-Key': 'open-idem' } },
  ]);
  rows.push([
    'a reused key: top-up',
    'POST',
    `/payments/add/${idem}`,
    422,
    'IDEMPOTENCY_KEY_REUSED',
    { body: '{"amount": 24}', headers: { 'Idempotency-Key': 'top-idem' } },
  ]);
  rows.push([
    'a reused key: order',
    'POST',
    '/orders/create/contract-alice',
    422,
    'IDEMPOTENCY_KEY_REUSED',
    { body: '{"amount":3,"description":"once"}', headers: { 'Idempotency-Key': 'order-idem' } },
  ]);
  rows.push([
    'a reused key: wallet',
    'POST',
    '/payments/create/contract-alice',
    422,
    'IDEMPOTENCY_KEY_REUSED',
    { headers: { 'Idempotency-Key': 'open-idem' } },
  ]);
  for (const [what, key] of [
    ['empty', ''],
    ['256 characters', 'k'.repeat(256)],
    ['a space inside', 'has space'],
    ['a tab inside', 'tab\there'],
    // (DEL and other controls cannot be sent: fetch refuses such a header value itself.)
    ['a Latin-1 letter', 'cl\u00e9'],
  ] as const) {
    rows.push([
      `Idempotency-Key ${what}`,
      'POST',
      '/payments/create/contract-alice',
      400,
      'INVALID_IDEMPOTENCY_KEY',
      { headers: { 'Idempotency-Key': key } },
    ]);
    rows.push([
      `Idempotency-Key ${what}`,
      'POST',
      `/payments/add/${alice}`,
      400,
      'INVALID_IDEMPOTENCY_KEY',
      { body: '{"amount": 5}', headers: { 'Idempotency-Key': key } },
    ]);
    rows.push([
      `Idempotency-Key ${what}`,
      'POST',
      order,
      400,
      'INVALID_IDEMPOTENCY_KEY',
      { body: '{"amount": 5, "description": "x"}', headers: { 'Idempotency-Key': key } },
    ]);
  }

  console.log(`  ${rows.length} hostile requests`);
  for (const [what, method, path, status, code, request] of rows) {
    const sent = await send(method, path, { ...request, headers: { Origin: UI_ORIGIN, ...request?.headers } });
    expect(`${what} (${method} ${path.slice(0, 80)})`, sent, status, code);
    // Where the spec's request schema can express the refusal, it must refuse the body too.
    if (status === 400 && ['INVALID_AMOUNT', 'INVALID_DESCRIPTION', 'UNKNOWN_FIELD'].includes(code!) && request?.body) {
      const parsed = safeJson(request.body);
      const lossless = parsed !== undefined && !/\d[eE]|\.\d{3,}|\d{16,}/.test(request.body);
      if (lossless && contract.requestSchemaAccepts(method, path, request.body))
        problems.push(
          `${what}: the spec's request schema accepts ${request.body.slice(0, 120)}, which the server refuses`,
        );
    }
  }

  const after = await snapshot();
  if (after.kopecks !== before.kopecks)
    problems.push(`the refused requests moved the sum of the balances: ${before.kopecks} → ${after.kopecks} kopecks`);
  for (const [user, count] of Object.entries(before.orders)) {
    if (after.orders[user] !== count)
      problems.push(`the refused requests changed the order count of ${user}: ${count} → ${after.orders[user]}`);
  }
  settle();
});

test('order events stream through :8080: each event is an Order by the spec, live and on reconnect', async () => {
  expect('a malformed user id', await send('GET', '/orders/events/-bad'), 400, 'INVALID_USER_ID');
  const user = 'contract-stream';
  const received: ServerSentEvent[] = [];
  const stop = new AbortController();
  let opened = false;
  const follow = (lastEventId?: string) =>
    readEventStream(`${GATEWAY}/orders/events/${user}`, {
      ...(lastEventId === undefined ? {} : { lastEventId }),
      signal: stop.signal,
      onOpen: () => (opened = true),
      onEvent: (event) => received.push(event),
    });
  const checkEvents = (events: ServerSentEvent[]) => {
    for (const event of events) {
      if (event.event !== 'order') problems.push(`an event named ${event.event}, not order`);
      if (!/^\d+$/.test(event.id ?? '')) problems.push(`an event id ${event.id} is not milliseconds`);
      for (const problem of contract.validate('/components/schemas/Order', safeJson(event.data)))
        problems.push(`event data ${snippet(event.data)}: ${problem}`);
    }
  };
  const streaming = follow();
  try {
    await waitFor('the stream to open', async () => opened);
    // No wallet: the order is refused by payments, and its CANCELLED comes pushed through the gateway.
    const placed = await placeOrder(user, { amount: 5, description: 'pushed' });
    expect('place an order to follow', placed, 201);
    const final = await waitFor('the pushed final status', async () =>
      received.find((event) => (safeJson(event.data) as { order_id?: string })?.order_id === placed.json.order_id),
    );
    assert.equal(
      safeJson(final.data),
      await finalOrder(placed.json.order_id),
      'the event is the order as /status has it',
    );
  } finally {
    stop.abort();
  }
  const ended = await streaming;
  problems.push(
    ...contract.check({
      method: 'GET',
      path: `/orders/events/${user}`,
      requestHeaders: {},
      status: ended.status,
      headers: ended.headers,
      text: '',
    }),
  );
  checkEvents(received);

  // A reconnect with the last id gets that order again (the catch-up), nothing lost.
  const lastId = received.at(-1)?.id;
  received.length = 0;
  opened = false;
  const again = new AbortController();
  const reconnecting = readEventStream(`${GATEWAY}/orders/events/${user}`, {
    ...(lastId === undefined ? {} : { lastEventId: lastId }),
    signal: again.signal,
    onEvent: (event) => received.push(event),
  });
  try {
    await waitFor('the catch-up after Last-Event-ID', async () => received.length > 0);
  } finally {
    again.abort();
  }
  await reconnecting;
  checkEvents(received);
  settle();
});

test('an address over its budget gets 429 as documented from every API operation, and none reaches a service', async () => {
  const stop = new AbortController();
  let open = 0;
  const streams = Array.from({ length: CONNECTIONS_PER_CLIENT }, () =>
    readEventStream(`${GATEWAY}/orders/events/contract-budget`, {
      signal: stop.signal,
      onOpen: () => (open += 1),
      onEvent: () => {},
    }),
  );
  try {
    await waitFor('the address holding its most connections', async () => open === CONNECTIONS_PER_CLIENT);
    const values: Record<string, string> = {
      user_id: 'contract-budget-orders',
      bill_id: '019ab655-2058-7a11-b2c3-d4e5f6a7b8c9',
      order_id: '019ab655-2058-7a11-b2c3-d4e5f6a7b8c9',
      asset: 'swagger-ui.css',
    };
    for (const operation of contract.operations) {
      const path = operation.template.replace(/\{(\w+)\}/g, (_, name: string) => values[name]!);
      const body = operation.method === 'post' ? json({ amount: 1, description: 'over budget' }) : undefined;
      const headers: Record<string, string> =
        operation.method === 'options'
          ? { Origin: UI_ORIGIN, 'Access-Control-Request-Method': 'POST' }
          : body === undefined
            ? {}
            : { 'content-type': 'application/json' };
      const sent = await send(operation.method.toUpperCase(), path, {
        ...(body === undefined ? {} : { body }),
        headers,
      });
      // What the gateway answers itself (CORS preflights, the docs, /health) spends no budget.
      if (!operation.statuses.includes('429')) {
        if (sent.status === 429) problems.push(`${operation.key}: 429, though it spends no budget`);
        continue;
      }
      expect(operation.key, sent, 429, operation.method === 'head' ? undefined : 'TOO_MANY_REQUESTS');
      if (sent.headers.get('retry-after') !== '1') problems.push(`${operation.key}: Retry-After is not 1`);
    }
    stop.abort();
    await Promise.all(streams);
    await waitFor('the address under its budget again', async () => (await send('GET', '/health')).status === 200);
    const placed = (await send('GET', '/orders/orders/contract-budget-orders')).json?.orders;
    if (placed?.length !== 0) problems.push(`orders placed over budget: ${JSON.stringify(placed)}`);
  } finally {
    stop.abort();
    await Promise.all(streams);
  }
  settle();
});

test('every operation of the spec was exercised and every documented status produced', () => {
  problems.push(...contract.uncovered(UNPROVOKABLE));
  settle();
});

test.run();
