import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '@gozon/platform';
import { HttpError, createApiApp } from '../../src/index.ts';

// Every request has an id: the gateway's X-Request-Id when well-formed, a new
// one otherwise. It is answered in X-Request-Id, named by the error body, and
// carried by every log line written while the request runs, however deep.

const ids = suite('request ids');

function appLogging() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger('test', 'debug', {}, (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
  const app = createApiApp(logger, {});
  app.get('/things/:id', async (c) => {
    logger.info('thing.looked_up', { thing: c.req.param('id') });
    await new Promise((resolve) => setTimeout(resolve, 5));
    logger.info('thing.after_a_wait');
    throw new HttpError(404, 'NOT_FOUND', 'no such thing');
  });
  return { app, lines };
}

const GATEWAY_ID = '0123456789abcdef0123456789abcdef';

ids('a well-formed X-Request-Id is kept: answered, in the error body, in each log line of the request', async () => {
  const { app, lines } = appLogging();
  const response = await app.request('/things/a', { headers: { 'X-Request-Id': GATEWAY_ID } });
  assert.is(response.headers.get('x-request-id'), GATEWAY_ID);
  assert.equal(((await response.json()) as { error: unknown }).error, {
    code: 'NOT_FOUND',
    message: 'no such thing',
    request_id: GATEWAY_ID,
  });
  assert.equal(
    lines.map((line) => [line.event, line.request_id]),
    [
      ['thing.looked_up', GATEWAY_ID],
      ['thing.after_a_wait', GATEWAY_ID],
    ],
  );
});

ids('a malformed or missing X-Request-Id gets a new id of 32 hex digits, one per request', async () => {
  const { app, lines } = appLogging();
  const seen = new Set<string>();
  for (const header of [undefined, 'not an id', 'x'.repeat(32), `${GATEWAY_ID}0`]) {
    const response = await app.request(
      '/things/b',
      header === undefined ? {} : { headers: { 'X-Request-Id': header } },
    );
    const id = response.headers.get('x-request-id') ?? '';
    assert.match(id, /^[0-9a-f]{32}$/);
    assert.is(((await response.json()) as { error: { request_id: string } }).error.request_id, id);
    seen.add(id);
  }
  assert.is(seen.size, 4);
  assert.is(new Set(lines.map((line) => line.request_id)).size, 4);
});

ids('concurrent requests keep their own ids in their log lines', async () => {
  const { app, lines } = appLogging();
  const sent = ['aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'];
  await Promise.all(
    sent.map((id, i) => Promise.resolve(app.request(`/things/${i}`, { headers: { 'X-Request-Id': id } }))),
  );
  for (const [i, id] of sent.entries())
    assert.ok(
      lines
        .filter((line) => line.request_id === id)
        .every((line) => line.event !== 'thing.looked_up' || line.thing === String(i)),
    );
  assert.is(lines.filter((line) => line.event === 'thing.after_a_wait').length, 2);
});

ids('a log line outside any request has no request_id', () => {
  const lines: string[] = [];
  createLogger('test', 'info', {}, (line) => lines.push(line)).info('worker.started');
  assert.not.ok('request_id' in (JSON.parse(lines[0]!) as object));
});

ids.run();
