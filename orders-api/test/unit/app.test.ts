import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Hono } from 'hono';
import { MAX_BODY_BYTES } from '@gozon/http';
import { createLogger, readConfig } from '@gozon/platform';
import type { OrdersDb } from '@gozon/orders';
import { createRecordingDb, expectError, type RecordingDriver } from '@gozon/testkit';
import { createApp } from '../../src/app.ts';
import { settings } from '../../src/settings.ts';

interface Setup {
  app: Hono;
  driver: RecordingDriver;
  logged: string[];
}

function setup(): Setup {
  const { db, driver } = createRecordingDb<OrdersDb>();
  const logged: string[] = [];
  const app = createApp({ db, logger: createLogger('test', 'error', {}, (line) => void logged.push(line)), config: readConfig(settings) });
  return { app, driver, logged };
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
  const { app, driver } = setup();
  const message = await expectError(await request(app, `/orders/status/${ORDER_ID}`), 404, 'ORDER_NOT_FOUND');
  assert.match(message, ORDER_ID);
  assert.is(driver.queries.length, 1);
  assert.match(driver.queries[0]!.sql, /^select .* from "order" where "id" = \$1/);
  assert.equal(driver.queries[0]!.parameters, [ORDER_ID]);
});

reads('an order id in upper case is looked up in lower case', async () => {
  const { app, driver } = setup();
  const message = await expectError(await request(app, `/orders/status/${ORDER_ID.toUpperCase()}`), 404, 'ORDER_NOT_FOUND');
  assert.match(message, ORDER_ID);
  assert.equal(driver.queries[0]!.parameters, [ORDER_ID]);
});

for (const id of ['not-a-uuid', '123', `${ORDER_ID}0`, ORDER_ID.replaceAll('-', '')]) {
  reads(`order id ${id} is 400 INVALID_ID with no query`, async () => {
    const { app, driver } = setup();
    const message = await expectError(await request(app, `/orders/status/${id}`), 400, 'INVALID_ID');
    assert.match(message, 'order_id');
    assert.is(driver.queries.length, 0);
  });
}

reads('the orders of a user with none are 200 with an empty list', async () => {
  const { app, driver } = setup();
  const response = await request(app, '/orders/orders/alice');
  assert.is(response.status, 200);
  assert.equal(await response.json(), { user_id: 'alice', orders: [] });
  assert.is(driver.queries.length, 1);
  assert.match(driver.queries[0]!.sql, /from "order" where "user_id" = \$1/);
  assert.equal(driver.queries[0]!.parameters, ['alice', 100]);
});

reads('the list limit is taken from ?limit', async () => {
  const { app, driver } = setup();
  const response = await request(app, '/orders/orders/alice?limit=500');
  assert.is(response.status, 200);
  assert.equal(driver.queries[0]!.parameters, ['alice', 500]);
});

for (const limit of ['0', '501', 'abc', '-1', '1.5', '']) {
  reads(`?limit=${limit} is 400 INVALID_LIMIT with no query`, async () => {
    const { app, driver } = setup();
    await expectError(await request(app, `/orders/orders/alice?limit=${limit}`), 400, 'INVALID_LIMIT');
    assert.is(driver.queries.length, 0);
  });
}

for (const [what, encoded] of [
  ['a space', 'a%20b'],
  ['a non-ASCII letter', encodeURIComponent('ü')],
  ['65 characters', 'x'.repeat(65)],
  ['a leading dot', '.alice'],
] as const) {
  reads(`a user_id with ${what} is 400 INVALID_USER_ID with no query`, async () => {
    const { app, driver } = setup();
    const message = await expectError(await request(app, `/orders/orders/${encoded}`), 400, 'INVALID_USER_ID');
    assert.match(message, 'user_id');
    assert.is(driver.queries.length, 0);
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
    const { app, driver } = setup();
    await expectError(await postJson(app, CREATE, body), status, code);
    assert.is(driver.queries.length, 0);
  });
}

for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
  create(`Content-Type ${type} is 415 UNSUPPORTED_MEDIA_TYPE and nothing reaches the database`, async () => {
    const { app, driver } = setup();
    await expectError(await postJson(app, CREATE, '{"amount":1,"description":"tea"}', type), 415, 'UNSUPPORTED_MEDIA_TYPE');
    assert.is(driver.queries.length, 0);
  });
}

create('a body with no Content-Type is 415 and nothing reaches the database', async () => {
  const { app, driver } = setup();
  const body = new TextEncoder().encode('{"amount":1,"description":"tea"}');
  await expectError(await request(app, CREATE, { method: 'POST', body }), 415, 'UNSUPPORTED_MEDIA_TYPE');
  assert.is(driver.queries.length, 0);
});

create('a bad user_id is 400 INVALID_USER_ID before the body is looked at', async () => {
  const { app, driver } = setup();
  await expectError(await postJson(app, '/orders/create/a%2Fb', 'not json'), 400, 'INVALID_USER_ID');
  assert.is(driver.queries.length, 0);
});

create(`a body over ${MAX_BODY_BYTES} bytes is 413 PAYLOAD_TOO_LARGE and nothing reaches the database`, async () => {
  const { app, driver } = setup();
  const body = `{"amount":1,"description":"${'x'.repeat(MAX_BODY_BYTES)}"}`;
  await expectError(await postJson(app, CREATE, body), 413, 'PAYLOAD_TOO_LARGE');
  assert.is(driver.queries.length, 0);
});

create('a valid order is stored with its payment request, in one statement, amount in exact kopecks, and answered 201', async () => {
  const { app, driver } = setup();
  const created = new Date('2024-07-01T12:00:00.000Z');
  // The database answers the row it was given: the order id is the statement's first parameter.
  driver.answer = (query) =>
    query.sql.startsWith('with "placed"')
      ? [{ id: query.parameters[0], user_id: 'alice', amount: 14990n, description: 'green tea', status: 'NEW', cancel_reason: null, created_at: created, updated_at: created }]
      : [];
  const response = await postJson(app, CREATE, '{"amount":149.90,"description":"  green tea "}');
  assert.is(response.status, 201);
  assert.equal(await response.json(), {
    order_id: driver.queries[0]!.parameters[0],
    user_id: 'alice',
    amount: 149.9,
    description: 'green tea',
    status: 'NEW',
    cancel_reason: null,
    created_at: '2024-07-01T12:00:00.000Z',
    updated_at: '2024-07-01T12:00:00.000Z',
  });

  assert.is(driver.queries.length, 1, 'the order and its payment task are one statement');
  const [statement] = driver.queries;
  assert.match(statement!.sql, /^with "placed" as \(insert into "order"/);
  assert.match(statement!.sql, /"task" as \(insert into "outbox_message"/);
  assert.ok(statement!.parameters.includes(14990n), 'the amount is inserted as 14990n kopecks');
  assert.ok(statement!.parameters.includes('green tea'), 'the description is inserted trimmed');
  assert.ok(statement!.parameters.includes('payment.requested'));
  const body = statement!.parameters.flat().find((p) => typeof p === 'string' && p.startsWith('{')) as string;
  assert.equal(JSON.parse(body).amount, 14990);
  assert.is(JSON.parse(body).order_id, statement!.parameters[0], 'the payment task names the order it belongs to');
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
  const { app, driver } = setup();
  const ready = await request(app, '/health/ready');
  assert.is(ready.status, 200);
  assert.equal(await ready.json(), { status: 'ok', checks: { database: 'ok' } });

  driver.failWith = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  const down = await request(app, '/health/ready');
  assert.is(down.status, 503);
  assert.equal(await down.json(), { status: 'unavailable', checks: { database: 'connect ECONNREFUSED 127.0.0.1:5432' } });
});

for (const [method, path] of [
  ['GET', '/'],
  ['GET', '/orders'],
  ['GET', '/orders/unknown'],
  ['GET', '/payments/balance/x'],
] as const) {
  service(`${method} ${path} is 404 NOT_FOUND as JSON`, async () => {
    const { app, driver } = setup();
    const message = await expectError(await request(app, path, { method }), 404, 'NOT_FOUND');
    assert.match(message, `${method} ${path}`);
    assert.is(driver.queries.length, 0);
  });
}

for (const [method, path, allow] of [
  ['DELETE', `/orders/status/${ORDER_ID}`, 'GET, HEAD'],
  ['POST', '/orders/orders/alice', 'GET, HEAD'],
  ['GET', '/orders/create/alice', 'POST'],
  ['PUT', '/orders/create/alice', 'POST'],
] as const) {
  service(`${method} ${path} is 405 METHOD_NOT_ALLOWED with Allow: ${allow}`, async () => {
    const { app, driver } = setup();
    const response = await request(app, path, { method });
    assert.is(response.headers.get('allow'), allow);
    await expectError(response, 405, 'METHOD_NOT_ALLOWED');
    assert.is(driver.queries.length, 0);
  });
}

service('a database that refuses connections is 503 SERVICE_UNAVAILABLE with Retry-After', async () => {
  const { app, driver } = setup();
  driver.failWith = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  const response = await request(app, `/orders/status/${ORDER_ID}`);
  const message = await expectError(response, 503, 'SERVICE_UNAVAILABLE');
  assert.not.match(message, '5432');
  assert.is(response.headers.get('retry-after'), '1');
});

service('a transient failure while placing an order is 503 too', async () => {
  const { app, driver } = setup();
  driver.failWith = Object.assign(new Error('could not serialize access'), { code: '40001' });
  await expectError(await postJson(app, CREATE, '{"amount":1,"description":"tea"}'), 503, 'SERVICE_UNAVAILABLE');
});

service('any other error is 500 INTERNAL, logged but not shown to the client', async () => {
  const { app, driver, logged } = setup();
  driver.failWith = new Error('relation "order" does not exist (secret detail)');
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
