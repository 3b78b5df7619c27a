import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Hono } from 'hono';
import { MAX_BODY_BYTES } from '@gozon/http';
import { createLogger } from '@gozon/platform';
import type { PaymentsDb } from '@gozon/payments';
import { countStatements, createStubDb, expectError } from '@gozon/testkit';
import { createApp } from '../../src/app.ts';

// What the wallets store, and how they are found, is tested against a real
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
  const stub = createStubDb<PaymentsDb>();
  const { db, statements } = countStatements(stub.db);
  const logged: string[] = [];
  const app = createApp({ db, logger: createLogger('test', 'error', {}, (line) => void logged.push(line)) });
  return { app, statements, fail: stub.fail, logged };
}

const BILL_ID = '0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a7b';

async function request(app: Hono, path: string, init: RequestInit = {}): Promise<Response> {
  return app.request(path, init);
}

function postJson(app: Hono, path: string, body: string, contentType = 'application/json'): Promise<Response> {
  return request(app, path, { method: 'POST', headers: { 'Content-Type': contentType }, body });
}

// ---------------------------------------------------------------------------

const CONNECTION_REFUSED = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

const balance = suite('payments-api: balance');

balance('an unknown bill id is 404 ACCOUNT_NOT_FOUND, after one lookup', async () => {
  const { app, statements } = setup();
  const message = await expectError(await request(app, `/payments/balance/${BILL_ID}`), 404, 'ACCOUNT_NOT_FOUND');
  assert.match(message, BILL_ID);
  assert.is(statements(), 1);
});

balance('a bill id in upper case is looked up in lower case', async () => {
  const { app } = setup();
  const message = await expectError(
    await request(app, `/payments/balance/${BILL_ID.toUpperCase()}`),
    404,
    'ACCOUNT_NOT_FOUND',
  );
  assert.match(message, BILL_ID);
});

for (const id of ['not-a-uuid', '42', `${BILL_ID}0`, BILL_ID.replaceAll('-', '')]) {
  balance(`bill id ${id} is 400 INVALID_ID with no query`, async () => {
    const { app, statements } = setup();
    const message = await expectError(await request(app, `/payments/balance/${id}`), 400, 'INVALID_ID');
    assert.match(message, 'bill_id');
    assert.is(statements(), 0);
  });
}

const BAD_USER_IDS = ['', '%20alice', 'al%C3%A9', '.alice', 'u'.repeat(65)];

for (const user of BAD_USER_IDS) {
  balance(`?user_id=${user.slice(0, 12)} is 400 INVALID_USER_ID with no query`, async () => {
    const { app, statements } = setup();
    await expectError(await request(app, `/payments/balance/${BILL_ID}?user_id=${user}`), 400, 'INVALID_USER_ID');
    assert.is(statements(), 0);
  });
}

balance('a bad bill id is reported before a bad ?user_id=', async () => {
  const { app } = setup();
  await expectError(await request(app, '/payments/balance/42?user_id=%20'), 400, 'INVALID_ID');
});

balance('?user_id= narrows the one lookup to the owner: a stranger gets 404 as for an unknown wallet', async () => {
  const { app, statements } = setup();
  await expectError(await request(app, `/payments/balance/${BILL_ID}?user_id=mallory`), 404, 'ACCOUNT_NOT_FOUND');
  assert.is(statements(), 1);
});

balance.run();

// ---------------------------------------------------------------------------

const add = suite('payments-api: top-up');

const ADD = `/payments/add/${BILL_ID}`;

add('an unknown bill id is 404 ACCOUNT_NOT_FOUND', async () => {
  const { app, statements } = setup();
  const message = await expectError(await postJson(app, ADD, '{"amount":100}'), 404, 'ACCOUNT_NOT_FOUND');
  assert.match(message, BILL_ID);
  assert.is(statements(), 2, 'the credit, then the look-up that tells a missing wallet from a full one');
});

for (const id of ['not-a-uuid', `${BILL_ID.slice(0, -1)}z`]) {
  add(`bill id ${id} is 400 INVALID_ID with no query, whatever the body`, async () => {
    const { app, statements } = setup();
    await expectError(await postJson(app, `/payments/add/${id}`, 'not json'), 400, 'INVALID_ID');
    assert.is(statements(), 0);
  });
}

for (const user of BAD_USER_IDS) {
  add(`?user_id=${user.slice(0, 12)} is 400 INVALID_USER_ID before the body is read`, async () => {
    const { app, statements } = setup();
    await expectError(await postJson(app, `${ADD}?user_id=${user}`, 'not json', 'text/plain'), 400, 'INVALID_USER_ID');
    assert.is(statements(), 0);
  });
}

for (const [what, body, code] of [
  ['malformed JSON', '{"amount":', 'INVALID_JSON'],
  ['a JSON array', '[100]', 'INVALID_JSON'],
  ['a bare number', '100', 'INVALID_JSON'],
  ['an unknown field', '{"amount":100,"bill_id":"x"}', 'UNKNOWN_FIELD'],
  ['a description, which top-ups do not take', '{"amount":100,"description":"gift"}', 'UNKNOWN_FIELD'],
  ['an empty object', '{}', 'INVALID_AMOUNT'],
  ['an amount as a string', '{"amount":"100"}', 'INVALID_AMOUNT'],
  ['an amount of 0', '{"amount":0}', 'INVALID_AMOUNT'],
  ['a negative amount', '{"amount":-1}', 'INVALID_AMOUNT'],
  ['an amount with an exponent', '{"amount":1e2}', 'INVALID_AMOUNT'],
  ['an amount with three decimals', '{"amount":1.001}', 'INVALID_AMOUNT'],
  ['an amount over the maximum', '{"amount":1000000000000.01}', 'INVALID_AMOUNT'],
] as const) {
  add(`${what} is 400 ${code} and nothing reaches the database`, async () => {
    const { app, statements } = setup();
    await expectError(await postJson(app, ADD, body), 400, code);
    assert.is(statements(), 0);
  });
}

add('Content-Type text/plain is 415 and nothing reaches the database', async () => {
  const { app, statements } = setup();
  await expectError(await postJson(app, ADD, '{"amount":100}', 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE');
  assert.is(statements(), 0);
});

add('a body with no Content-Type is 415 and nothing reaches the database', async () => {
  const { app, statements } = setup();
  await expectError(
    await request(app, ADD, { method: 'POST', body: new TextEncoder().encode('{"amount":100}') }),
    415,
    'UNSUPPORTED_MEDIA_TYPE',
  );
  assert.is(statements(), 0);
});

add(`a body over ${MAX_BODY_BYTES} bytes is 413 PAYLOAD_TOO_LARGE and nothing reaches the database`, async () => {
  const { app, statements } = setup();
  const body = `{"amount":100${' '.repeat(MAX_BODY_BYTES)}}`;
  await expectError(await postJson(app, ADD, body), 413, 'PAYLOAD_TOO_LARGE');
  assert.is(statements(), 0);
});

add.run();

// ---------------------------------------------------------------------------

const open = suite('payments-api: opening a wallet');

for (const [what, encoded] of [
  ['a space', 'a%20b'],
  ['a slash', 'a%2Fb'],
  ['a non-ASCII letter', encodeURIComponent('ü')],
  ['65 characters', 'x'.repeat(65)],
] as const) {
  open(`a user_id with ${what} is 400 INVALID_USER_ID with no query`, async () => {
    const { app, statements } = setup();
    const message = await expectError(
      await request(app, `/payments/create/${encoded}`, { method: 'POST' }),
      400,
      'INVALID_USER_ID',
    );
    assert.match(message, 'user_id');
    assert.is(statements(), 0);
  });
}

open.run();

// ---------------------------------------------------------------------------

const service = suite('payments-api: service routes and failures');

service('/health/live is 200', async () => {
  const { app } = setup();
  const response = await request(app, '/health/live');
  assert.is(response.status, 200);
  assert.equal(await response.json(), { status: 'ok' });
});

service('/health/ready is 503 when the database does not answer', async () => {
  const { app, fail } = setup();
  fail(CONNECTION_REFUSED());
  const response = await request(app, '/health/ready');
  assert.is(response.status, 503);
  assert.equal(((await response.json()) as { status: string }).status, 'unavailable');
});

for (const [method, path] of [
  ['GET', '/'],
  ['GET', '/payments'],
  ['GET', '/orders/orders/alice'],
] as const) {
  service(`${method} ${path} is 404 NOT_FOUND as JSON`, async () => {
    const { app, statements } = setup();
    const message = await expectError(await request(app, path, { method }), 404, 'NOT_FOUND');
    assert.match(message, `${method} ${path}`);
    assert.is(statements(), 0);
  });
}

for (const [method, path, allow] of [
  ['GET', `/payments/add/${BILL_ID}`, 'POST'],
  ['POST', `/payments/balance/${BILL_ID}`, 'GET, HEAD'],
  ['DELETE', '/payments/create/alice', 'POST'],
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
  fail(CONNECTION_REFUSED());
  const response = await request(app, `/payments/balance/${BILL_ID}`);
  const message = await expectError(response, 503, 'SERVICE_UNAVAILABLE');
  assert.not.match(message, '5432');
  assert.is(response.headers.get('retry-after'), '1');
});

service('a connection refused during a top-up is 503 too', async () => {
  const { app, fail } = setup();
  fail(CONNECTION_REFUSED());
  await expectError(await postJson(app, ADD, '{"amount":100}'), 503, 'SERVICE_UNAVAILABLE');
});

service('any other error is 500 INTERNAL, logged but not shown to the client', async () => {
  const { app, fail, logged } = setup();
  fail(new TypeError('cannot read properties of undefined (secret detail)'));
  const response = await request(app, `/payments/balance/${BILL_ID}`);
  const text = await response.clone().text();
  const message = await expectError(response, 500, 'INTERNAL');
  assert.is(message, 'internal error');
  assert.not.match(text, 'secret detail');
  assert.is(logged.length, 1);
  assert.match(logged[0]!, 'secret detail');
  assert.is(JSON.parse(logged[0]!).event, 'http.unhandled_error');
});

service('a wallet neither inserted nor found is 500 INTERNAL without the user in the answer', async () => {
  const { app } = setup();
  const response = await request(app, '/payments/create/alice', { method: 'POST' });
  const text = await response.clone().text();
  await expectError(response, 500, 'INTERNAL');
  assert.not.match(text, 'neither inserted');
});

service.run();
