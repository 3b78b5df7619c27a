import * as assert from 'uvu/assert';

/** Asserts the one error shape, exactly, its request_id the response's X-Request-Id, and returns the message. */
export async function expectError(response: Response, status: number, code: string): Promise<string> {
  assert.is(response.status, status);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  const body = (await response.json()) as Record<string, unknown>;
  assert.equal(Object.keys(body), ['error']);
  const error = body.error as Record<string, unknown>;
  assert.equal(Object.keys(error).sort(), ['code', 'message', 'request_id']);
  assert.match(String(error.request_id), /^[0-9a-f]{32}$/);
  assert.is(error.request_id, response.headers.get('x-request-id'), 'the body names the request X-Request-Id does');
  assert.type(error.code, 'string');
  assert.type(error.message, 'string');
  assert.is(error.code, code);
  assert.ok((error.message as string).length > 0, 'the message says something');
  return error.message as string;
}
