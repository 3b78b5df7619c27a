import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { expectError } from '@gozon/testkit';
import type { Hono } from 'hono';
import { createApiApp, parseJsonKeepingNumbers, readJsonObject, requireAmount } from '@gozon/http';
import { createLogger } from '@gozon/platform';
import { requireDescription } from '../../src/order-fields.ts';

// A tiny app that reads an order's body the way POST /orders/create does, with what every API shares.
function buildApp(): Hono {
  const app = createApiApp(
    createLogger('test', 'error', {}, () => {}),
    {},
  );
  app.post('/things', async (c) => {
    const body = await readJsonObject(c, ['amount', 'description']);
    const amount = requireAmount(body.amount);
    const description = requireDescription(body.description);
    return c.json({ kopecks: amount.toString(), description }, 201);
  });
  return app;
}

const app = buildApp();

/** contentType null sends none (a Uint8Array body, unlike a string, gets no Content-Type by default). */
function post(body: string | Uint8Array, contentType: string | null = 'application/json'): Promise<Response> {
  const headers: Record<string, string> = contentType === null ? {} : { 'Content-Type': contentType };
  return Promise.resolve(app.request('/things', { method: 'POST', headers, body }));
}

async function expectAccepted(response: Response, kopecks: string, description: string): Promise<void> {
  assert.is(response.status, 201);
  assert.equal(await response.json(), { kopecks, description });
}

// ---------------------------------------------------------------------------

const contentType = suite('readJsonObject: Content-Type');

contentType('a body with no Content-Type is refused with 415', async () => {
  const message = await expectError(
    await post(new TextEncoder().encode('{"amount":1,"description":"x"}'), null),
    415,
    'UNSUPPORTED_MEDIA_TYPE',
  );
  assert.match(message, 'application/json');
});

for (const type of [
  'text/plain',
  'application/x-www-form-urlencoded',
  'application/jsonp',
  'application/json-patch+json',
  'text/json',
  'multipart/form-data; boundary=x',
]) {
  contentType(`Content-Type ${type} is refused with 415`, async () => {
    await expectError(await post('{"amount":1,"description":"x"}', type), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });
}

for (const type of [
  'application/json',
  'application/json; charset=utf-8',
  'application/json;charset=UTF-8',
  'Application/JSON',
]) {
  contentType(`Content-Type ${type} is accepted`, async () => {
    await expectAccepted(await post('{"amount":1,"description":"x"}', type), '100', 'x');
  });
}

contentType.run();

// ---------------------------------------------------------------------------

const shape = suite('readJsonObject: body shape');

for (const [what, body] of [
  ['malformed JSON', '{"amount":1,'],
  ['a trailing comma', '{"amount":1,"description":"x",}'],
  ['single quotes', "{'amount':1}"],
  ['an empty body', ''],
] as const) {
  shape(`${what} is 400 INVALID_JSON`, async () => {
    const message = await expectError(await post(body), 400, 'INVALID_JSON');
    assert.match(message, 'not valid JSON');
  });
}

for (const [what, body] of [
  ['an array', '[{"amount":1,"description":"x"}]'],
  ['null', 'null'],
  ['a string', '"hello"'],
  ['a number', '149.90'],
  ['true', 'true'],
] as const) {
  shape(`${what} as the body is 400 INVALID_JSON`, async () => {
    const message = await expectError(await post(body), 400, 'INVALID_JSON');
    assert.match(message, 'must be a JSON object');
  });
}

shape('an unknown field is 400 UNKNOWN_FIELD naming it and the allowed ones', async () => {
  const message = await expectError(
    await post('{"amount":1,"description":"x","currency":"RUB"}'),
    400,
    'UNKNOWN_FIELD',
  );
  assert.match(message, 'currency');
  assert.match(message, 'amount, description');
});

shape('every unknown field is named', async () => {
  const message = await expectError(
    await post('{"amount":1,"description":"x","user_id":"u","status":"FINISHED"}'),
    400,
    'UNKNOWN_FIELD',
  );
  assert.match(message, 'user_id, status');
});

shape('__proto__ is an unknown field, not a way in', async () => {
  await expectError(await post('{"amount":1,"description":"x","__proto__":{"admin":true}}'), 400, 'UNKNOWN_FIELD');
});

shape('a field name differing only in case is unknown', async () => {
  await expectError(await post('{"Amount":1,"description":"x"}'), 400, 'UNKNOWN_FIELD');
});

shape.run();

// ---------------------------------------------------------------------------

const amount = suite('requireAmount through a request');

for (const [what, json] of [
  ['a string', '"149.90"'],
  ['an exponent', '1e2'],
  ['a capital exponent', '1E2'],
  ['zero', '0'],
  ['zero with decimals', '0.00'],
  ['a negative number', '-1'],
  ['three decimals', '1.001'],
  ['more than the maximum', '1000000000000.01'],
  ['null', 'null'],
  ['true', 'true'],
  ['an object', '{"rubles":1}'],
  ['an array', '[1]'],
] as const) {
  amount(`amount as ${what} (${json}) is 400 INVALID_AMOUNT`, async () => {
    await expectError(await post(`{"amount":${json},"description":"tea"}`), 400, 'INVALID_AMOUNT');
  });
}

amount('a missing amount is 400 INVALID_AMOUNT saying it is required', async () => {
  const message = await expectError(await post('{"description":"tea"}'), 400, 'INVALID_AMOUNT');
  assert.match(message, 'required');
});

amount('the message says why the amount is refused', async () => {
  assert.match(await expectError(await post('{"amount":1e2,"description":"tea"}'), 400, 'INVALID_AMOUNT'), 'exponent');
  assert.match(
    await expectError(await post('{"amount":1.001,"description":"tea"}'), 400, 'INVALID_AMOUNT'),
    'two decimals',
  );
  assert.match(
    await expectError(await post('{"amount":"149.90","description":"tea"}'), 400, 'INVALID_AMOUNT'),
    'JSON number',
  );
});

for (const [json, kopecks] of [
  ['149.90', '14990'],
  ['149.9', '14990'],
  ['0.01', '1'],
  ['0.1', '10'],
  ['1000000000000', '100000000000000'],
  ['999999999999.99', '99999999999999'],
] as const) {
  amount(`amount ${json} is read exactly as ${kopecks} kopecks`, async () => {
    await expectAccepted(await post(`{"amount":${json},"description":"tea"}`), kopecks, 'tea');
  });
}

amount('the source text 149.90 becomes exactly the bigint 14990n', () => {
  const body = parseJsonKeepingNumbers('{"amount":149.90}') as Record<string, unknown>;
  assert.is(requireAmount(body.amount), 14990n);
});

amount.run();

// ---------------------------------------------------------------------------

const description = suite('requireDescription through a request');

for (const [what, json] of [
  ['empty', '""'],
  ['only spaces', '"   "'],
  ['501 characters', JSON.stringify('x'.repeat(501))],
  ['501 emoji', JSON.stringify('🍵'.repeat(501))],
  ['a NUL', JSON.stringify('tea\u0000')],
  ['a newline inside', JSON.stringify('green\ntea')],
  ['a tab inside', JSON.stringify('green\ttea')],
  ['DEL', JSON.stringify('tea\u007f!')],
  ['a C1 control', JSON.stringify('tea\u0085!')],
  ['a number', '42'],
  ['null', 'null'],
] as const) {
  description(`description ${what} is 400 INVALID_DESCRIPTION`, async () => {
    await expectError(await post(`{"amount":1,"description":${json}}`), 400, 'INVALID_DESCRIPTION');
  });
}

description('a missing description is 400 INVALID_DESCRIPTION', async () => {
  await expectError(await post('{"amount":1}'), 400, 'INVALID_DESCRIPTION');
});

description('the messages say what is wrong', async () => {
  assert.match(await expectError(await post('{"amount":1,"description":""}'), 400, 'INVALID_DESCRIPTION'), 'empty');
  assert.match(
    await expectError(
      await post(`{"amount":1,"description":${JSON.stringify('x'.repeat(501))}}`),
      400,
      'INVALID_DESCRIPTION',
    ),
    '500',
  );
  assert.match(
    await expectError(await post('{"amount":1,"description":"a\\u0001b"}'), 400, 'INVALID_DESCRIPTION'),
    'control',
  );
});

description('500 characters are accepted', async () => {
  await expectAccepted(
    await post(`{"amount":1,"description":${JSON.stringify('x'.repeat(500))}}`),
    '100',
    'x'.repeat(500),
  );
});

description('500 emoji are accepted: characters are counted, not UTF-16 units', async () => {
  await expectAccepted(
    await post(`{"amount":1,"description":${JSON.stringify('🍵'.repeat(500))}}`),
    '100',
    '🍵'.repeat(500),
  );
});

description('surrounding spaces are trimmed, and do not count towards the length', async () => {
  await expectAccepted(await post('{"amount":1,"description":"  green tea \\n"}'), '100', 'green tea');
  const padded = ` ${'x'.repeat(500)} `;
  await expectAccepted(await post(`{"amount":1,"description":${JSON.stringify(padded)}}`), '100', 'x'.repeat(500));
});

description('non-Latin text is accepted as written', async () => {
  await expectAccepted(await post('{"amount":1,"description":"Чай зелёный"}'), '100', 'Чай зелёный');
});

description.run();
