import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Hono } from 'hono';
import { MAX_BODY_BYTES } from '@gozon/http';
import { createLogger, readConfig } from '@gozon/platform';
import type { OrdersDb } from '@gozon/orders';
import { countStatements, createStubDb, expectError } from '@gozon/testkit';
import { createApp } from '../../src/app.ts';
import { settings } from '../../src/settings.ts';

// What the orders store, and how they are found, is tested against a real
// database in ../integration/app.test.ts; here the database holds nothing, or
// is down, and the app's own answers are what is tested.

interface Setup {
  app: Hono;
  /** Statements that reached the database. */
  statements: () => number;
  /** Fails every statement from now on with this error. */
  fail: (error: Error) => void;
  logged: string[];
}

function setup(): Setup {
  const stub = createStubDb<OrdersDb>();
  const { db, statements } = countStatements(stub.db);
  const logged: string[] = [];
  const app = createApp({
    db,
    logger: createLogger('test', 'error', {}, (line) => void logged.push(line)),
    config: readConfig(settings),
  });
  return { app, statements, fail: stub.fail, logged };
}

const ORDER_ID = '0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a7b';

async function request(app: Hono, path: string, init: RequestInit = {}): Promise<Response> {
  return app.request(path, init);
}

function postJson(app: Hono, path: string, body: string, contentType = 'application/json'): Promise<Response> {
  return request(app, path, { method: 'POST', headers: { 'Content-Type': contentType }, body });
}

// ---------------------------------------------------------------------------

const reads = suite('orders-api: reading orders');

reads('an unknown order id is 404 ORDER_NOT_FOUND, after one lookup', async () => {
  const { app, statements } = setup();
  const message = await expectError(await request(app, `/orders/status/${ORDER_ID}`), 404, 'ORDER_NOT_FOUND');
  assert.match(message, ORDER_ID);
  assert.is(statements(), 1);
});

reads('an order id in upper case is looked up in lower case', async () => {
  const { app } = setup();
  const message = await expectError(
    await request(app, `/orders/status/${ORDER_ID.toUpperCase()}`),
    404,
    'ORDER_NOT_FOUND',
  );
  assert.match(message, ORDER_ID);
});

for (const id of ['not-a-uuid', '123', `${ORDER_ID}0`, ORDER_ID.replaceAll('-', '')]) {
  reads(`order id ${id} is 400 INVALID_ID with no query`, async () => {
    const { app, statements } = setup();
    const message = await expectError(await request(app, `/orders/status/${id}`), 400, 'INVALID_ID');
    assert.match(message, 'order_id');
    assert.is(statements(), 0);
  });
}

reads('the orders of a user with none are 200 with an empty list', async () => {
  const { app, statements } = setup();
  const response = await request(app, '/orders/orders/alice');
  assert.is(response.status, 200);
  assert.equal(await response.json(), { user_id: 'alice', orders: [] });
  assert.is(statements(), 1);
});

for (const limit of ['0', '501', 'abc', '-1', '1.5', '']) {
  reads(`?limit=${limit} is 400 INVALID_LIMIT with no query`, async () => {
    const { app, statements } = setup();
    await expectError(await request(app, `/orders/orders/alice?limit=${limit}`), 400, 'INVALID_LIMIT');
    assert.is(statements(), 0);
  });
}

for (const [what, encoded] of [
  ['a space', 'a%20b'],
  ['a non-ASCII letter', encodeURIComponent('ü')],
  ['65 characters', 'x'.repeat(65)],
  ['a leading dot', '.alice'],
] as const) {
  reads(`a user_id with ${what} is 400 INVALID_USER_ID with no query`, async () => {
    const { app, statements } = setup();
    const message = await expectError(await request(app, `/orders/orders/${encoded}`), 400, 'INVALID_USER_ID');
    assert.match(message, 'user_id');
    assert.is(statements(), 0);
  });
}

reads.run();

// ---------------------------------------------------------------------------

const create = suite('orders-api: placing an order');

const CREATE = '/orders/create/alice';

for (const [what, body, status, code] of [
  ['malformed JSON', '{"amount":', 400, 'INVALID_JSON'],
  ['a JSON array', '[]', 400, 'INVALID_JSON'],
  ['a bare number', '149.90', 400, 'INVALID_JSON'],
  ['an unknown field', '{"amount":1,"description":"tea","user_id":"bob"}', 400, 'UNKNOWN_FIELD'],
  ['a missing amount', '{"description":"tea"}', 400, 'INVALID_AMOUNT'],
  ['an amount as a string', '{"amount":"149.90","description":"tea"}', 400, 'INVALID_AMOUNT'],
  ['an amount of 0', '{"amount":0,"description":"tea"}', 400, 'INVALID_AMOUNT'],
  ['a negative amount', '{"amount":-1,"description":"tea"}', 400, 'INVALID_AMOUNT'],
  ['an amount with an exponent', '{"amount":1e2,"description":"tea"}', 400, 'INVALID_AMOUNT'],
  ['an amount with three decimals', '{"amount":1.001,"description":"tea"}', 400, 'INVALID_AMOUNT'],
  ['an amount over the maximum', '{"amount":1000000000000.01,"description":"tea"}', 400, 'INVALID_AMOUNT'],
  ['a missing description', '{"amount":1}', 400, 'INVALID_DESCRIPTION'],
  ['an empty description', '{"amount":1,"description":"  "}', 400, 'INVALID_DESCRIPTION'],
  ['a description of 501 characters', `{"amount":1,"description":"${'x'.repeat(501)}"}`, 400, 'INVALID_DESCRIPTION'],
  ['a description with a control character', '{"amount":1,"description":"tea\\u0007"}', 400, 'INVALID_DESCRIPTION'],
] as const) {
  create(`${what} is ${status} ${code} and nothing reaches the database`, async () => {
    const { app, statements } = setup();
    await expectError(await postJson(app, CREATE, body), status, code);
    assert.is(statements(), 0);
  });
}

for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
  create(`Content-Type ${type} is 415 UNSUPPORTED_MEDIA_TYPE and nothing reaches the database`, async () => {
    const { app, statements } = setup();
    await expectError(
      await postJson(app, CREATE, '{"amount":1,"description":"tea"}', type),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    assert.is(statements(), 0);
  });
}

create('a body with no Content-Type is 415 and nothing reaches the database', async () => {
  const { app, statements } = setup();
  const body = new TextEncoder().encode('{"amount":1,"description":"tea"}');
  await expectError(await request(app, CREATE, { method: 'POST', body }), 415, 'UNSUPPORTED_MEDIA_TYPE');
  assert.is(statements(), 0);
});

create('a bad user_id is 400 INVALID_USER_ID before the body is looked at', async () => {
  const { app, statements } = setup();
  await expectError(await postJson(app, '/orders/create/a%2Fb', 'not json'), 400, 'INVALID_USER_ID');
  assert.is(statements(), 0);
});

create(`a body over ${MAX_BODY_BYTES} bytes is 413 PAYLOAD_TOO_LARGE and nothing reaches the database`, async () => {
  const { app, statements } = setup();
  const body = `{"amount":1,"description":"${'x'.repeat(MAX_BODY_BYTES)}"}`;
  await expectError(await postJson(app, CREATE, body), 413, 'PAYLOAD_TOO_LARGE');
  assert.is(statements(), 0);
});

create.run();

// ---------------------------------------------------------------------------

const service = suite('orders-api: service routes and failures');

service('/health/live is 200', async () => {
  const { app } = setup();
  const response = await request(app, '/health/live');
  assert.is(response.status, 200);
  assert.equal(await response.json(), { status: 'ok' });
});

service('/health/ready is 200 when the database answers and 503 when it does not', async () => {
  const { app, fail } = setup();
  const ready = await request(app, '/health/ready');
  assert.is(ready.status, 200);
  assert.equal(await ready.json(), { status: 'ok', checks: { database: 'ok' } });

  fail(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }));
  const down = await request(app, '/health/ready');
  assert.is(down.status, 503);
  assert.equal(await down.json(), {
    status: 'unavailable',
    checks: { database: 'connect ECONNREFUSED 127.0.0.1:5432' },
  });
});

for (const [method, path] of [
  ['GET', '/'],
  ['GET', '/orders'],
  ['GET', '/orders/unknown'],
  ['GET', '/payments/balance/x'],
] as const) {
  service(`${method} ${path} is 404 NOT_FOUND as JSON`, async () => {
    const { app, statements } = setup();
    const message = await expectError(await request(app, path, { method }), 404, 'NOT_FOUND');
    assert.match(message, `${method} ${path}`);
    assert.is(statements(), 0);
  });
}

for (const [method, path, allow] of [
  ['DELETE', `/orders/status/${ORDER_ID}`, 'GET, HEAD'],
  ['POST', '/orders/orders/alice', 'GET, HEAD'],
  ['GET', '/orders/create/alice', 'POST'],
  ['PUT', '/orders/create/alice', 'POST'],
] as const) {
  service(`${method} ${path} is 405 METHOD_NOT_ALLOWED with Allow: ${allow}`, async () => {
    const { app, statements } = setup();
    const response = await request(app, path, { method });
    assert.is(response.headers.get('allow'), allow);
    await expectError(response, 405, 'METHOD_NOT_ALLOWED');
    assert.is(statements(), 0);
  });
}

service('a database that refuses connections is 503 SERVICE_UNAVAILABLE with Retry-After', async () => {
  const { app, fail } = setup();
  fail(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }));
  const response = await request(app, `/orders/status/${ORDER_ID}`);
  const message = await expectError(response, 503, 'SERVICE_UNAVAILABLE');
  assert.not.match(message, '5432');
  assert.is(response.headers.get('retry-after'), '1');
});

service('a transient failure while placing an order is 503 too', async () => {
  const { app, fail } = setup();
  fail(Object.assign(new Error('could not serialize access'), { code: '40001' }));
  await expectError(await postJson(app, CREATE, '{"amount":1,"description":"tea"}'), 503, 'SERVICE_UNAVAILABLE');
});

service('any other error is 500 INTERNAL, logged but not shown to the client', async () => {
  const { app, fail, logged } = setup();
  fail(new Error('relation "order" does not exist (secret detail)'));
  const response = await request(app, '/orders/orders/alice');
  const text = await response.clone().text();
  const message = await expectError(response, 500, 'INTERNAL');
  assert.is(message, 'internal error');
  assert.not.match(text, 'secret detail');
  assert.not.match(text, 'relation');
  assert.is(logged.length, 1);
  assert.match(logged[0]!, 'secret detail');
  assert.is(JSON.parse(logged[0]!).event, 'http.unhandled_error');
});

service.run();
