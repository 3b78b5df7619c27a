import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { gateway, startStack, waitFor, type Stack } from '@gozon/testkit';

const UI_ORIGIN = 'http://localhost:3000';
const system = suite('the whole stack through :8080');

let stack: Stack;

async function finalOrder(orderId: string) {
  return waitFor(`order ${orderId} to leave NEW`, async () => {
    const { json } = await gateway.orderStatus(orderId);
    return json?.status !== 'NEW' ? json : undefined;
  });
}

system.before(async () => {
  stack = await startStack('system');
});

system.after(async () => {
  const code = await stack.stop();
  assert.is(code, 0, `Ctrl-C stops every process cleanly:\n${stack.output()}`);
});

system('a person opens a wallet, tops it up, and an order is paid', async () => {
  const created = await gateway.openWallet('system-alice');
  assert.is(created.status, 201);
  assert.is(created.json.user_id, 'system-alice');
  assert.is(created.json.balance, 0);
  const again = await gateway.openWallet('system-alice');
  assert.is(again.status, 200, 'opening it again returns the same wallet');
  assert.is(again.json.bill_id, created.json.bill_id);

  const topped = await gateway.topUp(created.json.bill_id, 500.5);
  assert.is(topped.status, 200);
  assert.is(topped.json.balance, 500.5);

  const placed = await gateway.placeOrder('system-alice', { amount: 149.9, description: 'a book' });
  assert.is(placed.status, 201);
  assert.is(placed.json.status, 'NEW');
  assert.is(placed.json.amount, 149.9);
  const done = await finalOrder(placed.json.order_id);
  assert.is(done.status, 'FINISHED');
  assert.is(done.cancel_reason, null);

  const balance = await gateway.balance(created.json.bill_id);
  assert.is(balance.status, 200);
  assert.is(balance.json.balance, 350.6);
});

system('an order without a wallet is CANCELLED with NO_ACCOUNT', async () => {
  const placed = await gateway.placeOrder('system-nobody', { amount: 5, description: 'nothing to pay with' });
  assert.is(placed.status, 201);
  const done = await finalOrder(placed.json.order_id);
  assert.is(done.status, 'CANCELLED');
  assert.is(done.cancel_reason, 'NO_ACCOUNT');
});

system('a user’s orders are listed newest first', async () => {
  const ids = [];
  for (const description of ['first', 'second', 'third']) {
    ids.push((await gateway.placeOrder('system-lister', { amount: 1, description })).json.order_id);
  }
  const list = await gateway.listOrders('system-lister');
  assert.is(list.status, 200);
  assert.equal(
    list.json.orders.map((o) => o.order_id),
    ids.reverse(),
  );
  assert.equal(
    list.json.orders.map((o) => o.description),
    ['third', 'second', 'first'],
  );
});

system('a CORS preflight from the UI origin is answered, and other origins are not allowed', async () => {
  const preflight = await gateway.request('OPTIONS', '/orders/create/someone', {
    headers: {
      Origin: UI_ORIGIN,
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'content-type',
    },
  });
  assert.is(preflight.status, 204);
  assert.is(preflight.headers.get('access-control-allow-origin'), UI_ORIGIN);
  assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /POST/);
  assert.match((preflight.headers.get('access-control-allow-headers') ?? '').toLowerCase(), /content-type/);

  const read = await gateway.request('GET', '/orders/orders/someone', { headers: { Origin: UI_ORIGIN } });
  assert.is(read.headers.get('access-control-allow-origin'), UI_ORIGIN);
  const foreign = await gateway.request('GET', '/orders/orders/someone', {
    headers: { Origin: 'http://evil.example' },
  });
  assert.is(foreign.headers.get('access-control-allow-origin'), null);

  // The UI opened at another local address, on its port, is allowed; another port is not.
  const origins: Array<[string, boolean]> = [
    ['http://127.0.0.1:3000', true],
    ['http://192.168.1.20:3000', true],
    ['http://evil.example:3000', false],
    ['http://localhost:3001', false],
  ];
  for (const [origin, allowed] of origins) {
    const answer = await gateway.request('GET', '/orders/orders/someone', { headers: { Origin: origin } });
    assert.is(answer.headers.get('access-control-allow-origin'), allowed ? origin : null, origin);
  }
});

system('an unknown path is a JSON 404, bad input a JSON 400, a huge body a JSON 413', async () => {
  for (const path of ['/nope', '/orders/unknown', '/payments/']) {
    const missing = await gateway.request('GET', path);
    assert.is(missing.status, 404, path);
    assert.is(missing.json.error.code, 'NOT_FOUND', path);
    assert.type(missing.json.error.message, 'string');
  }
  const bad = await gateway.placeOrder('someone', { amount: 1.001, description: 'x' });
  assert.is(bad.status, 400);
  assert.is(bad.json.error?.code, 'INVALID_AMOUNT');
  const huge = await gateway.placeOrder('someone', { amount: 1, description: 'x'.repeat(20_000) });
  assert.is(huge.status, 413);
  assert.is(huge.json.error?.code, 'PAYLOAD_TOO_LARGE');
});

system.run();
