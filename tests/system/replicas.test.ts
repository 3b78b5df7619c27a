import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gateway, startStack, waitFor, type GatewayAnswer, type Stack } from '@gozon/testkit';

// `npm run stack` runs each API as several processes, and the gateway spreads
// requests over all of them, as compose does with --scale. One replica dying
// (SIGKILL: no goodbye) must not take the shop with it: a request nginx could
// not send goes to the other replica; a POST already sent is never sent again,
// so an order is never placed twice behind the client's back.

const REPLICAS = 2;
const BURST = 30;
const CONCURRENCY = 3;

const replicas = suite(`npm run stack with ${REPLICAS} replicas of each API`);

let stack: Stack;

replicas.before(async () => {
  stack = await startStack(
    'replicas',
    { STACK_API_REPLICAS: String(REPLICAS), STACK_REPLICAS: '1' },
    { accessLog: true },
  );
});

replicas.after(async () => {
  const code = await stack.stop();
  assert.is(code, 0, `the stack stops cleanly:\n${stack.output()}`);
});

/** The host:port of each replica of `api` the stack printed once ready (its gateway answers a moment earlier). */
async function printedReplicas(api: string): Promise<string[]> {
  const output = await waitFor('the stack to print its processes', async () => {
    const text = stack.output();
    return text.includes('[stack] ready:') ? text : undefined;
  });
  const rows = output.matchAll(new RegExp(`\\[stack\\] ${api}-\\d+ +http://([\\d.:]+)/health/ready`, 'g'));
  return [...rows].map((row) => row[1]!);
}

/** The replicas the gateway's access log says answered requests under `prefix`, once there are `count`. */
function servedBy(prefix: string, count: number): Promise<string[]> {
  return waitFor(`${count} replicas serving ${prefix} in the gateway's access log`, async () => {
    const upstreams = new Set(
      stack
        .gatewayRequests()
        .filter((line) => line.path.startsWith(prefix))
        .map((line) => line.upstream),
    );
    return upstreams.size >= count ? [...upstreams].sort() : undefined;
  });
}

/** The pid the supervisor last recorded for a process of the stack. */
function pidOf(name: string): number {
  return (JSON.parse(readFileSync(join(stack.dir, 'pids.json'), 'utf8')) as Record<string, number>)[name]!;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

replicas('requests through :8080 are served by every replica the stack printed, of both APIs', async () => {
  const orders = await printedReplicas('orders-api');
  const payments = await printedReplicas('payments-api');
  assert.is(orders.length, REPLICAS, stack.output());
  assert.is(payments.length, REPLICAS, stack.output());

  const wallet = await gateway.openWallet('replicas-alice');
  for (let i = 0; i < 4 * REPLICAS; i += 1) {
    assert.is((await gateway.listOrders('replicas-alice')).status, 200);
    assert.is((await gateway.balance(wallet.json.bill_id)).status, 200);
  }

  assert.equal(await servedBy('/orders/', REPLICAS), orders.sort());
  assert.equal(await servedBy('/payments/', REPLICAS), payments.sort());
});

replicas(
  'one orders-api replica killed: the shop keeps answering, no order is placed twice, it comes back',
  async () => {
    const wallet = await gateway.openWallet('replicas-bob');
    await gateway.topUp(wallet.json.bill_id, 1000);
    const victim = pidOf('orders-api-1');

    // A burst of orders without Idempotency-Key, the victim killed while it runs: a POST in flight
    // on the victim is answered 503 and not resent, so the orders placed are at most those answered
    // 201 plus those answered 503, and include every one answered 201.
    const answers: GatewayAnswer<any>[] = [];
    let next = 0;
    let killed = false;
    const place = async () => {
      while (next < BURST) {
        next += 1;
        if (answers.length >= 5 && !killed) {
          killed = true;
          process.kill(victim, 'SIGKILL');
        }
        answers.push(await gateway.placeOrder('replicas-bob', { amount: 1, description: `burst ${next}` }));
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, place));

    const accepted = answers.filter((a) => a.status === 201).map((a) => a.json.order_id as string);
    const unavailable = answers.filter((a) => a.status === 503);
    assert.is(
      accepted.length + unavailable.length,
      BURST,
      `only 201 or 503: ${answers.map((a) => a.status).join(', ')}`,
    );
    for (const refused of unavailable) {
      assert.is(refused.json.error.code, 'SERVICE_UNAVAILABLE');
      assert.is(refused.headers.get('retry-after'), '1');
    }
    const listed = (await gateway.listOrders('replicas-bob', { limit: 100 })).json.orders.map((o) => o.order_id);
    for (const id of accepted) assert.ok(listed.includes(id), `order ${id} answered 201 is listed`);
    assert.ok(listed.length <= BURST, `${listed.length} orders for ${BURST} requests: none placed twice`);

    // Once the victim is gone, every request goes to the replica left (or to the victim restarted).
    await waitFor('the killed replica to be gone', async () => !isRunning(victim) || undefined);
    for (let i = 0; i < 10; i += 1) {
      assert.is((await gateway.placeOrder('replicas-bob', { amount: 1, description: `after ${i}` })).status, 201);
      assert.is((await gateway.listOrders('replicas-bob')).status, 200);
    }

    const [port] = (await printedReplicas('orders-api'))[0]!.split(':').slice(1);
    await waitFor('orders-api-1 restarted and ready', async () => {
      const ready = await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => undefined);
      return ready?.ok || undefined;
    });
    assert.is.not(pidOf('orders-api-1'), victim, 'the supervisor started a new orders-api-1');
    assert.match(stack.output(), '[stack] orders-api-1 exited unexpectedly (code null, signal SIGKILL); restarting it');
  },
);

replicas.run();
