// How long an order takes from POST to FINISHED at rest: one order at a time
// through the gateway, timed by the order's own timestamps (created_at by
// PostgreSQL at insert, updated_at when the payment result was applied), so
// the polling interval does not count.
//   node scripts/flow-latency.ts [orders=100]   (against a running `npm run stack`)
import { setTimeout as sleep } from 'node:timers/promises';

const GATEWAY = process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080';
const count = Number(process.argv[2] ?? 100);

interface OrderJson {
  order_id: string;
  status: string;
  created_at: string;
  updated_at: string;
}

async function post<T = unknown>(path: string, body?: string): Promise<T> {
  const response = await fetch(`${GATEWAY}${path}`, {
    method: 'POST',
    headers: body ? { 'content-type': 'application/json' } : {},
    body,
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

const user = `latency-${Date.now()}`;
const wallet = await post<{ bill_id: string }>(`/payments/create/${user}`);
await post(`/payments/add/${wallet.bill_id}`, JSON.stringify({ amount: count }));

const durations: number[] = [];
for (let i = 0; i < count; i += 1) {
  const order = await post<OrderJson>(`/orders/create/${user}`, JSON.stringify({ amount: 1, description: `latency probe ${i}` }));
  for (;;) {
    const status = (await (await fetch(`${GATEWAY}/orders/status/${order.order_id}`)).json()) as OrderJson;
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
console.log(`${count} orders, POST → FINISHED at rest: p50 ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${durations.at(-1)} ms`);
