import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { HttpError, requireAmount, requireUserId, requireUuid } from '@gozon/http';

function httpErrorOf(run: () => unknown): HttpError {
  try {
    run();
  } catch (error) {
    assert.instance(error, HttpError);
    return error as HttpError;
  }
  assert.unreachable('should have thrown an HttpError');
  throw new Error('unreachable');
}

const amount = suite('requireAmount');

amount('a plain JavaScript number is not accepted as an amount', () => {
  const error = httpErrorOf(() => requireAmount(149.9));
  assert.is(error.status, 400);
  assert.is(error.code, 'INVALID_AMOUNT');
});

amount.run();

const ids = suite('requireUserId and requireUuid');

for (const userId of ['alice', 'a', 'A1', 'bob@example.com', 'user_1.test-2', '0', 'x'.repeat(64)]) {
  ids(`user id ${JSON.stringify(userId)} is accepted as is`, () => {
    assert.is(requireUserId(userId), userId);
  });
}

for (const [what, userId] of [
  ['empty', ''],
  ['65 characters', 'x'.repeat(65)],
  ['a space', 'a b'],
  ['a slash', 'a/b'],
  ['a non-ASCII letter', 'ü'],
  ['a non-ASCII letter inside', 'müller'],
  ['a leading dot', '.alice'],
  ['a leading dash', '-alice'],
  ['a leading @', '@alice'],
  ['a trailing newline', 'alice\n'],
  ['a percent sign', 'a%20b'],
  ['a colon', 'a:b'],
] as const) {
  ids(`user id with ${what} is 400 INVALID_USER_ID`, () => {
    const error = httpErrorOf(() => requireUserId(userId));
    assert.is(error.status, 400);
    assert.is(error.code, 'INVALID_USER_ID');
    assert.match(error.message, 'user_id');
  });
}

ids('a UUID is accepted and lower-cased', () => {
  assert.is(requireUuid('0190A5B2-7C3D-7E4F-8A1B-2C3D4E5F6A7B', 'order_id'), '0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a7b');
  assert.is(requireUuid('0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a7b', 'order_id'), '0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a7b');
});

for (const [what, value] of [
  ['empty', ''],
  ['a word', 'order-1'],
  ['no dashes', '0190a5b27c3d7e4f8a1b2c3d4e5f6a7b'],
  ['braces', '{0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a7b}'],
  ['a non-hex digit', '0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a7z'],
  ['one digit short', '0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a7'],
  ['a trailing space', '0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a7b '],
] as const) {
  ids(`an id that is ${what} is 400 INVALID_ID naming the parameter`, () => {
    const error = httpErrorOf(() => requireUuid(value, 'bill_id'));
    assert.is(error.status, 400);
    assert.is(error.code, 'INVALID_ID');
    assert.is(error.message, 'bill_id must be a UUID');
  });
}

ids.run();
