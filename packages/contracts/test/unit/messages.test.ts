import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  MalformedMessageError,
  PAYMENT_FAILED,
  PAYMENT_REQUESTED,
  PAYMENT_SUCCEEDED,
  encodeMessage,
  parsePaymentRequested,
  parsePaymentResult,
} from '@gozon/contracts';
import type { PaymentRequested } from '@gozon/contracts';

const MESSAGE_ID = '0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a7b';
const ORDER_ID = '0190a5b2-7c3d-7e4f-9a1b-2c3d4e5f6a7c';
const OCCURRED_AT = '2024-07-01T12:34:56.789Z';

function requested(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    message_id: MESSAGE_ID,
    order_id: ORDER_ID,
    user_id: 'alice',
    amount: 14990,
    occurred_at: OCCURRED_AT,
    ...overrides,
  });
}

function result(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({ message_id: MESSAGE_ID, order_id: ORDER_ID, occurred_at: OCCURRED_AT, ...overrides });
}

function isMalformed(why: RegExp) {
  return (error: Error) => error instanceof MalformedMessageError && why.test(error.message);
}

// ---------------------------------------------------------------------------

const request = suite('parsePaymentRequested');

request('a valid message parses, the amount as bigint kopecks', () => {
  assert.equal(parsePaymentRequested(requested()), {
    message_id: MESSAGE_ID,
    order_id: ORDER_ID,
    user_id: 'alice',
    amount: 14990n,
    occurred_at: OCCURRED_AT,
  });
});

request('reads a Buffer body as well as a string', () => {
  const parsed = parsePaymentRequested(Buffer.from(requested({ amount: 1 })));
  assert.is(parsed.amount, 1n);
  assert.is(parsed.order_id, ORDER_ID);
});

request('keeps only the known fields', () => {
  const parsed = parsePaymentRequested(requested({ extra: 'ignored' }));
  assert.equal(Object.keys(parsed).sort(), ['amount', 'message_id', 'occurred_at', 'order_id', 'user_id']);
});

request('the largest safe integer of kopecks is still exact', () => {
  assert.is(
    parsePaymentRequested(requested({ amount: Number.MAX_SAFE_INTEGER })).amount,
    BigInt(Number.MAX_SAFE_INTEGER),
  );
});

request('accepts UUIDs in upper case', () => {
  assert.is(parsePaymentRequested(requested({ order_id: ORDER_ID.toUpperCase() })).order_id, ORDER_ID.toUpperCase());
});

const malformedRequests: Array<[string, string, RegExp]> = [
  ['a body that is not JSON', '{"message_id":', /not JSON/],
  ['an empty body', '', /not JSON/],
  ['a JSON array', JSON.stringify([JSON.parse(requested())]), /not a JSON object/],
  ['JSON null', 'null', /not a JSON object/],
  ['a JSON string', '"hello"', /not a JSON object/],
  ['a JSON number', '42', /not a JSON object/],
  ['a missing message_id', requested({ message_id: undefined }), /message_id must be a UUID/],
  ['a message_id that is not a UUID', requested({ message_id: 'not-a-uuid' }), /message_id must be a UUID/],
  ['a message_id that is a number', requested({ message_id: 12 }), /message_id must be a UUID/],
  ['a message_id with a trailing character', requested({ message_id: `${MESSAGE_ID}x` }), /message_id must be a UUID/],
  ['a missing order_id', requested({ order_id: undefined }), /order_id must be a UUID/],
  [
    'an order_id that is not a UUID',
    requested({ order_id: '0190a5b2-7c3d-7e4f-9a1b-2c3d4e5f6a7' }),
    /order_id must be a UUID/,
  ],
  [
    'an order_id with non-hex digits',
    requested({ order_id: 'g190a5b2-7c3d-7e4f-9a1b-2c3d4e5f6a7c' }),
    /order_id must be a UUID/,
  ],
  ['an empty user_id', requested({ user_id: '' }), /user_id must be a non-empty string/],
  ['a missing user_id', requested({ user_id: undefined }), /user_id must be a non-empty string/],
  ['a user_id that is a number', requested({ user_id: 7 }), /user_id must be a non-empty string/],
  ['an amount of 0', requested({ amount: 0 }), /amount must be a positive integer/],
  ['a negative amount', requested({ amount: -100 }), /amount must be a positive integer/],
  ['a fractional amount', requested({ amount: 149.9 }), /amount must be a positive integer/],
  ['an amount written as a string', requested({ amount: '14990' }), /amount must be a positive integer/],
  [
    'an amount that is not a safe integer',
    requested({ amount: Number.MAX_SAFE_INTEGER + 1 }),
    /amount must be a positive integer/,
  ],
  [
    'an amount of 1e300',
    '{"message_id":"' +
      MESSAGE_ID +
      '","order_id":"' +
      ORDER_ID +
      '","user_id":"alice","amount":1e300,"occurred_at":"' +
      OCCURRED_AT +
      '"}',
    /amount must be a positive integer/,
  ],
  ['a missing amount', requested({ amount: undefined }), /amount must be a positive integer/],
  ['an amount of null', requested({ amount: null }), /amount must be a positive integer/],
  [
    'an occurred_at that is not a date',
    requested({ occurred_at: 'yesterday' }),
    /occurred_at must be an ISO timestamp/,
  ],
  ['an empty occurred_at', requested({ occurred_at: '' }), /occurred_at must be a non-empty string/],
  [
    'an occurred_at that is a number',
    requested({ occurred_at: 1719837296789 }),
    /occurred_at must be a non-empty string/,
  ],
  ['a missing occurred_at', requested({ occurred_at: undefined }), /occurred_at/],
];

for (const [what, body, why] of malformedRequests) {
  request(`refuses ${what}`, () => {
    assert.throws(() => parsePaymentRequested(body), isMalformed(why));
  });
}

request.run();

// ---------------------------------------------------------------------------

const results = suite('parsePaymentResult');

results('payment.succeeded parses with its type', () => {
  assert.equal(parsePaymentResult(PAYMENT_SUCCEEDED, result()), {
    type: PAYMENT_SUCCEEDED,
    message_id: MESSAGE_ID,
    order_id: ORDER_ID,
    occurred_at: OCCURRED_AT,
  });
});

for (const reason of ['NO_ACCOUNT', 'INSUFFICIENT_FUNDS'] as const) {
  results(`payment.failed parses with reason ${reason}`, () => {
    assert.equal(parsePaymentResult(PAYMENT_FAILED, Buffer.from(result({ reason }))), {
      type: PAYMENT_FAILED,
      message_id: MESSAGE_ID,
      order_id: ORDER_ID,
      occurred_at: OCCURRED_AT,
      reason,
    });
  });
}

const malformedResults: Array<[string, string, string, RegExp]> = [
  ['a body that is not JSON', PAYMENT_SUCCEEDED, 'not json', /not JSON/],
  ['a JSON array', PAYMENT_SUCCEEDED, '[]', /not a JSON object/],
  ['a missing message_id', PAYMENT_SUCCEEDED, result({ message_id: undefined }), /message_id must be a UUID/],
  [
    'an order_id that is not a UUID',
    PAYMENT_FAILED,
    result({ order_id: 'order-1', reason: 'NO_ACCOUNT' }),
    /order_id must be a UUID/,
  ],
  [
    'a bad occurred_at',
    PAYMENT_SUCCEEDED,
    result({ occurred_at: 'not a time' }),
    /occurred_at must be an ISO timestamp/,
  ],
  ['a failure with no reason', PAYMENT_FAILED, result(), /reason must be one of NO_ACCOUNT, INSUFFICIENT_FUNDS/],
  ['a failure with an unknown reason', PAYMENT_FAILED, result({ reason: 'CARD_DECLINED' }), /reason must be one of/],
  ['a failure reason in the wrong case', PAYMENT_FAILED, result({ reason: 'no_account' }), /reason must be one of/],
  ['an unknown message type', 'payment.refunded', result(), /unexpected message type "payment.refunded"/],
  ['payment.requested given as a result type', PAYMENT_REQUESTED, result(), /unexpected message type/],
  ['an empty message type', '', result(), /unexpected message type ""/],
];

for (const [what, type, body, why] of malformedResults) {
  results(`refuses ${what}`, () => {
    assert.throws(() => parsePaymentResult(type, body), isMalformed(why));
  });
}

results('MalformedMessageError is an Error named for what it is', () => {
  try {
    parsePaymentResult(PAYMENT_SUCCEEDED, '[');
    assert.unreachable('should have thrown');
  } catch (error) {
    assert.instance(error, Error);
    assert.is((error as Error).name, 'MalformedMessageError');
  }
});

results.run();

// ---------------------------------------------------------------------------

const encode = suite('encodeMessage');

encode('a bigint becomes a JSON integer, not a string', () => {
  assert.is(encodeMessage({ amount: 14990n }), '{"amount":14990}');
});

encode('other values are encoded as JSON.stringify does', () => {
  assert.is(
    encodeMessage({ a: 'x', b: 1, c: null, d: [1n, 2n], e: { f: true } }),
    '{"a":"x","b":1,"c":null,"d":[1,2],"e":{"f":true}}',
  );
});

encode('payment.requested round-trips through its parser', () => {
  const message: PaymentRequested = {
    message_id: MESSAGE_ID,
    order_id: ORDER_ID,
    user_id: 'bob@example.com',
    amount: 100_000_000_000_000n, // the API's maximum: 1e12 rubles
    occurred_at: OCCURRED_AT,
  };
  const wire = encodeMessage(message);
  assert.ok(wire.includes('"amount":100000000000000'));
  assert.equal(parsePaymentRequested(wire), message);
});

encode('payment.failed round-trips through its parser', () => {
  const message = {
    message_id: MESSAGE_ID,
    order_id: ORDER_ID,
    reason: 'INSUFFICIENT_FUNDS',
    occurred_at: OCCURRED_AT,
  };
  assert.equal(parsePaymentResult(PAYMENT_FAILED, encodeMessage(message)), { type: PAYMENT_FAILED, ...message });
});

encode.run();
