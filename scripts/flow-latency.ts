// How long an order takes from POST to FINISHED at rest: one order at a time
// through the gateway, timed by the order's own timestamps (created_at by
// PostgreSQL at insert, updated_at when the payment result was applied), so
// the polling interval does not count. It keeps to the gateway's budgets per
// client address as any client must: a 429 is waited out (Retry-After) and the
// call sent again, which only spaces the orders further apart.
//   node scripts/flow-latency.ts [orders=100]   (against a running `npm run stack`)
import { setTimeout as sleep } from 'node:timers/promises';
import { readConfig, url } from '@gozon/platform';
import { createGatewayClient, type GatewayAnswer } from '@gozon/testkit';

const config = readConfig({
  GATEWAY_URL: url('http://127.0.0.1:8080', 'the gateway of a running stack', ['http:', 'https:']),
});
const gateway = createGatewayClient(config.GATEWAY_URL);
const count = Number(process.argv[2] ?? 100);

// A call refused this many times in a row by the gateway's budgets is given up.
const MOST_REFUSALS = 20;

/**
 * The body of a call that must succeed, sent again after Retry-After seconds
 * while the gateway answers 429 (it refused before any service saw the call,
 * so nothing happened twice).
 */
async function expectOk<T>(call: () => Promise<GatewayAnswer<T>>): Promise<T> {
  for (let refusals = 0; ; refusals += 1) {
    const answer = await call();
    if (answer.status === 429 && refusals < MOST_REFUSALS) {
      await sleep(1000 * Number(answer.headers.get('retry-after') ?? 1));
      continue;
    }
    if (answer.status >= 300) throw new Error(`${answer.method} ${answer.path}: ${answer.status} ${answer.text}`);
    return answer.json;
  }
}

const user = `latency-${Date.now()}`;
const wallet = await expectOk(() => gateway.openWallet(user));
await expectOk(() => gateway.topUp(wallet.bill_id, count));

const durations: number[] = [];
for (let i = 0; i < count; i += 1) {
  const order = await expectOk(() => gateway.placeOrder(user, { amount: 1, description: `latency probe ${i}` }));
  for (;;) {
    const status = await expectOk(() => gateway.orderStatus(order.order_id));
    if (status.status !== 'NEW') {
      if (status.status !== 'FINISHED') throw new Error(`order ${order.order_id} ended ${status.status}`);
      durations.push(Date.parse(status.updated_at) - Date.parse(status.created_at));
      break;
    }
    await sleep(5);
  }
}

durations.sort((a, b) => a - b);
const at = (q: number) => durations[Math.min(durations.length - 1, Math.floor(q * durations.length))];
console.log(
  `${count} orders, POST → FINISHED at rest: p50 ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${durations.at(-1)} ms`,
);
