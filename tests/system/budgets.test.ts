// The gateway's budgets per client address (docs/ARCHITECTURE.md, "Budgets per
// client address"), spent for real through :8080: past a budget, one address
// gets 429 with the error shape and Retry-After, the request reaches no service
// and changes nothing, and another address goes on as if nothing happened.
// This machine's other loopback addresses (127.0.0.0/8) stand in for a second
// client.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { request } from 'node:http';
import { gateway, readEventStream, startStack, waitFor, type Stack } from '@gozon/testkit';

const ORDER_BURST = 10;
const CONNECTIONS = 4;
const SENT = 30;
const OTHER_ADDRESS = '127.0.0.2';

const budgets = suite("the gateway's budgets per client address");
let stack: Stack;

budgets.before(async () => {
  stack = await startStack(
    'budgets',
    // Small, so that a test spends them quickly; one order a second refills the order budget.
    {
      GATEWAY_ORDER_RATE: '1',
      GATEWAY_ORDER_BURST: String(ORDER_BURST),
      GATEWAY_CONNECTIONS_PER_CLIENT: String(CONNECTIONS),
    },
    { gatewayBudgets: 'defaults' },
  );
});

budgets.after(async () => {
  assert.is(await stack.stop(), 0, stack.output());
});

/** One request to the gateway from `localAddress`: its status and JSON body. */
function requestFrom(localAddress: string, method: string, path: string, body?: unknown) {
  return new Promise<{ status: number; json: any }>((resolve, reject) => {
    const sent = request(
      `${gateway.base}${path}`,
      { method, localAddress, headers: body === undefined ? {} : { 'content-type': 'application/json' } },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, json: JSON.parse(text) }));
      },
    );
    sent.on('error', reject);
    sent.setTimeout(30_000, () => sent.destroy(new Error(`no answer to ${method} ${path} within 30 s`)));
    sent.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

budgets(
  'a burst past the order budget: the rest get 429 and place nothing; another address is unaffected',
  async () => {
    const wallet = await gateway.openWallet('budgets-alice');
    await gateway.topUp(wallet.json.bill_id, 1000);

    // One after another, so that the address never has more than one request in flight (CONNECTIONS is small).
    const answers = [];
    for (let i = 0; i < SENT; i += 1)
      answers.push(await gateway.placeOrder('budgets-alice', { amount: 1, description: `burst ${i}` }));
    const placed = answers.filter((a) => a.status === 201);
    const refused = answers.filter((a) => a.status === 429);
    assert.is(placed.length + refused.length, SENT, `only 201 or 429: ${answers.map((a) => a.status).join(', ')}`);
    // The burst, and what one a second refilled while the others came.
    assert.ok(placed.length >= ORDER_BURST && placed.length <= ORDER_BURST + 2, `${placed.length} placed`);
    for (const answer of refused) {
      assert.is(answer.json.error?.code, 'TOO_MANY_REQUESTS');
      assert.type(answer.json.error?.message, 'string');
      assert.is(answer.headers.get('retry-after'), '1');
      assert.match(answer.headers.get('x-request-id') ?? '', /^[0-9a-f]{32}$/);
    }
    const listed = (await gateway.listOrders('budgets-alice')).json.orders.map((order) => order.order_id).sort();
    assert.equal(listed, placed.map((a) => a.json.order_id).sort(), 'the refused requests placed nothing');

    const elsewhere = await requestFrom(OTHER_ADDRESS, 'POST', '/orders/create/budgets-alice', {
      amount: 1,
      description: 'from another address',
    });
    assert.is(elsewhere.status, 201, JSON.stringify(elsewhere.json));

    // Retry-After is long enough for one more.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.is((await gateway.placeOrder('budgets-alice', { amount: 1, description: 'after a second' })).status, 201);
  },
);

budgets('an address holding its most connections gets 429 for one more; another address does not', async () => {
  const stop = new AbortController();
  let open = 0;
  const streams = Array.from({ length: CONNECTIONS }, () =>
    readEventStream(`${gateway.base}/orders/events/budgets-bob`, {
      signal: stop.signal,
      onOpen: () => (open += 1),
      onEvent: () => {},
    }),
  );
  try {
    await waitFor(`${CONNECTIONS} order streams open`, async () => open === CONNECTIONS);
    const over = await gateway.listOrders('budgets-bob');
    assert.is(over.status, 429);
    assert.is(over.json.error?.code, 'TOO_MANY_REQUESTS');
    assert.is((await requestFrom(OTHER_ADDRESS, 'GET', '/orders/orders/budgets-bob')).status, 200);
  } finally {
    stop.abort();
    await Promise.all(streams);
  }
  await waitFor('a connection free again', async () => (await gateway.listOrders('budgets-bob')).status === 200);
});

budgets.run();
