import http from 'node:http';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '@gozon/platform';
import { MAX_BODY_BYTES, createApiApp, listen } from '../../src/index.ts';

// A body over MAX_BODY_BYTES is refused with 413 PAYLOAD_TOO_LARGE before the
// route runs, whether it declares its length or arrives in chunks; one at the
// limit reaches the route whole. Both through Hono alone and through the Node
// server every API runs on, whose requests take a different path.

const limit = suite('request body limit');

function appCounting() {
  const app = createApiApp(
    createLogger('test', 'error', {}, () => {}),
    {},
  );
  const received: number[] = [];
  app.post('/things', async (c) => {
    received.push((await c.req.text()).length);
    return c.json({ ok: true }, 201);
  });
  return { app, received };
}

function chunked(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  return new ReadableStream({
    start(controller) {
      for (let at = 0; at < bytes.length; at += 1000) controller.enqueue(bytes.subarray(at, at + 1000));
      controller.close();
    },
  });
}

async function expectTooLarge(response: Response) {
  assert.is(response.status, 413);
  assert.is(((await response.json()) as { error: { code: string } }).error.code, 'PAYLOAD_TOO_LARGE');
}

limit('a declared length over the limit is 413 and the route never runs', async () => {
  const { app, received } = appCounting();
  const body = 'x'.repeat(MAX_BODY_BYTES + 1);
  await expectTooLarge(
    await app.request('/things', { method: 'POST', body, headers: { 'content-length': String(body.length) } }),
  );
  assert.equal(received, []);
});

limit('a declared length at the limit reaches the route whole', async () => {
  const { app, received } = appCounting();
  const body = 'x'.repeat(MAX_BODY_BYTES);
  const response = await app.request('/things', {
    method: 'POST',
    body,
    headers: { 'content-length': String(body.length) },
  });
  assert.is(response.status, 201);
  assert.equal(received, [MAX_BODY_BYTES]);
});

limit('a body of undeclared length is counted as it arrives: over the limit 413, at it whole', async () => {
  const { app, received } = appCounting();
  const over = { method: 'POST', body: chunked('x'.repeat(MAX_BODY_BYTES + 1)), duplex: 'half' } as RequestInit;
  await expectTooLarge(await app.request('/things', over));
  const at = { method: 'POST', body: chunked('x'.repeat(MAX_BODY_BYTES)), duplex: 'half' } as RequestInit;
  assert.is((await app.request('/things', at)).status, 201);
  assert.equal(received, [MAX_BODY_BYTES]);
});

limit('a GET passes whatever length it declares: it has no body to limit', async () => {
  const { app } = appCounting();
  app.get('/things', (c) => c.json({ ok: true }));
  const response = await app.request('/things', { headers: { 'content-length': String(MAX_BODY_BYTES + 1) } });
  assert.is(response.status, 200);
});

/** POSTs `size` bytes to the server on `port`, declaring the length or sending it in chunks. */
function post(port: number, size: number, declared: boolean): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/things',
        method: 'POST',
        headers: declared ? { 'content-length': size } : { 'transfer-encoding': 'chunked' },
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => done({ status: response.statusCode ?? 0, body }));
      },
    );
    request.on('error', fail);
    for (let sent = 0; sent < size; sent += 1000) request.write('x'.repeat(Math.min(1000, size - sent)));
    request.end();
  });
}

limit('through the Node server: both kinds of body, over and at the limit', async () => {
  const { app, received } = appCounting();
  const server = await listen(app, 0, '127.0.0.1');
  try {
    for (const declared of [true, false]) {
      const over = await post(server.port, MAX_BODY_BYTES + 1, declared);
      assert.is(over.status, 413, `declared ${declared}`);
      assert.match(over.body, 'PAYLOAD_TOO_LARGE');
      assert.is((await post(server.port, MAX_BODY_BYTES, declared)).status, 201, `declared ${declared}`);
    }
    assert.equal(received, [MAX_BODY_BYTES, MAX_BODY_BYTES]);
  } finally {
    await server.close();
  }
});

limit.run();
