// A request's id, end to end through :8080: the client's X-Request-Id when
// well-formed, otherwise the gateway's, answered in X-Request-Id, named by an
// error body, and carried by the gateway's access log line and by the
// service's log lines of that request.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { gateway, startStack, waitFor, type Stack } from '@gozon/testkit';

const ids = suite('request ids through the gateway');
let stack: Stack;

ids.before(async () => {
  // debug: orders-api logs each order it places (order.placed).
  stack = await startStack('requestids', { LOG_LEVEL: 'debug' }, { accessLog: true });
});

ids.after(async () => {
  assert.is(await stack.stop(), 0, stack.output());
});

ids("a client's well-formed id is kept: in the answer, the access log and the service's log line", async () => {
  const id = randomUUID();
  const placed = await gateway.placeOrder(
    'request-ids-alice',
    { amount: 1, description: 'a lamp' },
    { headers: { 'X-Request-Id': id } },
  );
  assert.is(placed.status, 201, placed.text);
  assert.is(placed.headers.get('x-request-id'), id);
  const logged = await waitFor('orders-api to log the order', async () =>
    stack.events('order.placed').find((line) => line.order_id === placed.json.order_id),
  );
  assert.is(logged.request_id, id);
  const accessed = await waitFor('the gateway to log the request', async () =>
    stack.gatewayRequests().find((line) => line.request_id === id),
  );
  assert.is(accessed.path, '/orders/create/request-ids-alice');
});

ids('a malformed id is replaced by the gateway’s, and an error body names the one answered', async () => {
  const refused = await gateway.request('GET', '/orders/status/not-an-id', {
    headers: { 'X-Request-Id': 'drop table orders' },
  });
  assert.is(refused.status, 400);
  const id = refused.headers.get('x-request-id') ?? '';
  assert.match(id, /^[0-9a-f]{32}$/);
  assert.is(refused.json.error.request_id, id);
});

ids.run();
