import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  gateway,
  readEventStream,
  startStack,
  waitFor,
  type GatewayAnswer,
  type OrderJson,
  type Stack,
} from '@gozon/testkit';

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
    {
      STACK_API_REPLICAS: String(REPLICAS),
      STACK_REPLICAS: '1',
      // debug, for order_stream.opened: which replica holds a stream, and whether it opened with a catch-up.
      LOG_LEVEL: 'debug',
      // The services inherit the runner's environment. No lookback: a reconnect's catch-up comes from its
      // Last-Event-ID alone. That loses nothing only while the order changes commit one after another, in
      // the order of their updated_at: one orders-relay, one inbox transaction at a time.
      ORDER_EVENTS_LOOKBACK_MS: '0',
      INBOX_CONCURRENCY: '1',
    },
    { accessLog: true },
  );
});

replicas.after(async () => {
  const code = await stack.stop();
  assert.is(code, 0, `the stack stops cleanly:\n${stack.output()}`);
});

/**
 * The host:port of each replica of `api` the stack printed once ready (its gateway answers a moment
 * earlier), by name: orders-api-1 → 127.0.0.1:3001.
 */
async function printedReplicas(api: string): Promise<Map<string, string>> {
  const output = await waitFor('the stack to print its processes', async () => {
    const text = stack.output();
    return text.includes('[stack] ready:') ? text : undefined;
  });
  const rows = output.matchAll(new RegExp(`\\[stack\\] (${api}-\\d+) +http://([\\d.:]+)/health/ready`, 'g'));
  return new Map([...rows].map((row) => [row[1]!, row[2]!]));
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

/** The pid the supervisor last recorded for each process of the stack, by name. */
function pids(): Record<string, number> {
  return JSON.parse(readFileSync(join(stack.dir, 'pids.json'), 'utf8')) as Record<string, number>;
}

/** The pid the supervisor last recorded for a process of the stack. */
function pidOf(name: string): number {
  return pids()[name]!;
}

/** Waits until the supervisor has started orders-api replica `name` again in place of pid `victim`, and it is ready. */
async function restarted(name: string, victim: number, signal?: AbortSignal): Promise<void> {
  const address = (await printedReplicas('orders-api')).get(name);
  await waitFor(
    `${name} started again and ready`,
    async () => {
      // pids.json keeps the victim's pid until the supervisor has started its successor.
      if (pidOf(name) === victim) return undefined;
      const ready = await fetch(`http://${address}/health/ready`).catch(() => undefined);
      return ready?.ok || undefined;
    },
    undefined,
    signal,
  );
}

/**
 * Waits until the gateway sends requests under /orders/ to every orders-api replica again: nginx
 * leaves a replica it could not reach alone for 2 s (fail_timeout), even once it is back.
 */
async function ordersApiReplicasServing(): Promise<void> {
  await waitFor('the gateway to send orders requests to every orders-api replica', async () => {
    const before = stack.gatewayRequests().length;
    for (let i = 0; i < 2 * REPLICAS; i += 1) await gateway.listOrders('replicas-probe');
    const upstreams = stack
      .gatewayRequests()
      .slice(before)
      .map((line) => line.upstream);
    return new Set(upstreams).size === REPLICAS && upstreams.every((upstream) => !upstream.includes(','));
  });
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
  const orders = [...(await printedReplicas('orders-api')).values()];
  const payments = [...(await printedReplicas('payments-api')).values()];
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

    await restarted('orders-api-1', victim);
    assert.match(stack.output(), '[stack] orders-api-1 exited unexpectedly (code null, signal SIGKILL); restarting it');
  },
);

// nginx skips a replica it could not reach for fail_timeout, even once it is back: with every
// replica down once, nothing is left to send to until the first of them is tried again. 2 s, not
// nginx's default 10 s, whatever order the replicas come back in.
const GATEWAY_HEALED_MS = 5000;

replicas(
  'every orders-api replica killed at once: the gateway answers again within seconds of them being back',
  async () => {
    const victims = Object.entries(pids()).filter(([name]) => name.startsWith('orders-api-'));
    assert.is(victims.length, REPLICAS);
    for (const [, pid] of victims) process.kill(pid, 'SIGKILL');
    // Requests while none is up: nginx marks each replica failed.
    await waitFor('the gateway to find no orders-api replica', async () => {
      const answer = await gateway.listOrders('replicas-dave');
      return answer.status === 503 || undefined;
    });
    await Promise.all(victims.map(([name, pid]) => restarted(name, pid)));
    const answer = await waitFor(
      `the gateway to answer /orders/ again within ${GATEWAY_HEALED_MS} ms of every replica being ready`,
      async () => {
        const sent = await gateway.listOrders('replicas-dave');
        return sent.status === 200 ? sent : undefined;
      },
      GATEWAY_HEALED_MS,
    );
    assert.equal(answer.json.orders, []);
  },
);

// Live order status through the gateway (issue 13): a client follows a user's orders at
// /orders/events/{user}, the orders-api replica holding its stream is killed while orders are being
// paid, and the client, reconnecting through :8080 with Last-Event-ID as a browser's EventSource
// does, ends with every order's final status.
const LIVE_USER = 'replicas-carol';
const LIVE_ORDERS = 40;
const LIVE_PRICE = 10;
// The wallet covers three orders in four; payments-worker cancels the rest for want of money.
const LIVE_PAID = 30;
// Between two orders: they are placed, and paid, over a few seconds, so the kill comes while they are.
const PLACE_PAUSE_MS = 50;

/** One connection of the client to its stream. */
interface StreamConnection {
  /** The Last-Event-ID it was opened with. */
  lastEventId: string | undefined;
  /** The response's status once it came (0 before, or when none came). */
  status: number;
  /** The order events it carried, in the order they came. */
  events: { id: string; order: OrderJson }[];
  /** True once the stream has ended. */
  ended: boolean;
}

function isFinal(order: OrderJson | undefined): boolean {
  return order !== undefined && order.status !== 'NEW';
}

/** The order_stream.opened log lines of `userId`'s streams, oldest first: which process opened each, and how. */
function openedStreams(userId: string) {
  return stack.events('order_stream.opened').filter((line) => line.user_id === userId);
}

replicas(
  "the orders-api replica holding a client's order stream killed while orders are paid: the client reconnects through :8080 with Last-Event-ID and ends with every final status",
  async () => {
    // The test before killed a replica: the stream may open on either, and a kill leaves one to go to.
    await ordersApiReplicasServing();
    const wallet = await gateway.openWallet(LIVE_USER);
    await gateway.topUp(wallet.json.bill_id, LIVE_PAID * LIVE_PRICE);

    const stop = new AbortController();
    const connections: StreamConnection[] = [];
    const reading: Promise<unknown>[] = [];
    /** Each order as the client last got it. */
    const seen = new Map<string, OrderJson>();
    const connect = (lastEventId?: string): StreamConnection => {
      const connection: StreamConnection = { lastEventId, status: 0, events: [], ended: false };
      connections.push(connection);
      reading.push(
        readEventStream(`${gateway.base}/orders/events/${LIVE_USER}`, {
          ...(lastEventId === undefined ? {} : { lastEventId }),
          signal: stop.signal,
          onOpen: () => (connection.status = 200),
          onEvent: (event) => {
            if (event.event !== 'order' || event.id === undefined) return;
            const order = JSON.parse(event.data) as OrderJson;
            connection.events.push({ id: event.id, order });
            seen.set(order.order_id, order);
          },
        }).then((end) => {
          connection.status = end.status;
          connection.ended = true;
        }),
      );
      return connection;
    };
    const placed: string[] = [];
    const placeOne = async (i: number) => {
      // A POST in flight on the killed replica is answered 503 and not resent: sent again under its key.
      const key = randomUUID();
      const answer = await waitFor(
        `order ${i} accepted`,
        async () => {
          const sent = await gateway.placeOrder(
            LIVE_USER,
            { amount: LIVE_PRICE, description: `live ${i}` },
            { idempotencyKey: key },
          );
          return sent.status === 503 ? undefined : sent;
        },
        undefined,
        stop.signal,
      );
      assert.is(answer.status, 201, answer.text);
      placed.push(answer.json.order_id);
    };

    try {
      const first = connect();
      await waitFor('the stream to open through the gateway', async () => first.status === 200, undefined, stop.signal);
      const holderPid = Number(
        await waitFor('orders-api to log the stream it opened', async () => openedStreams(LIVE_USER)[0]?.pid),
      );
      const holder = Object.entries(pids()).find(([, pid]) => pid === holderPid)?.[0] ?? `pid ${holderPid}`;
      assert.match(holder, /^orders-api-\d+$/, 'an orders-api replica of the stack holds the stream');

      // Half the orders; the kill right after the last of them, its payment under way, once the client
      // has seen orders settled in two transactions (so that its Last-Event-ID is later than some of
      // what it saw); then the other half, settled while the client has no stream or a new one.
      const placeAndKill = async () => {
        for (let i = 0; i < LIVE_ORDERS; i += 1) {
          await placeOne(i);
          if (i === LIVE_ORDERS / 2 - 1) {
            await waitFor(
              'the client to see orders settled in two transactions',
              async () => new Set(first.events.filter((e) => isFinal(e.order)).map((e) => e.id)).size >= 2,
              undefined,
              stop.signal,
            );
            process.kill(holderPid, 'SIGKILL');
          }
          await sleep(PLACE_PAUSE_MS, undefined, { signal: stop.signal });
        }
      };
      // The client reconnects once there is something it missed (an order settled while it had no
      // stream) and the killed replica is back and ready: nginx sends a request to a replica as soon
      // as it accepts connections, a replica just started answers a stream 503 until it hears order
      // changes, and on a 503 a browser's EventSource gives up instead of sending Last-Event-ID.
      const reconnect = async () => {
        await waitFor('the stream to end with its replica', async () => first.ended, undefined, stop.signal);
        await restarted(holder, holderPid, stop.signal);
        await waitFor(
          'an order settled that the client has not seen settle',
          async () =>
            (await gateway.listOrders(LIVE_USER, { limit: 100 })).json.orders.some(
              (order) => isFinal(order) && !isFinal(seen.get(order.order_id)),
            ),
          undefined,
          stop.signal,
        );
        connect(first.events.at(-1)!.id);
      };
      await Promise.all([placeAndKill(), reconnect()]);

      await waitFor(
        'every order final at the client',
        async () => placed.length === LIVE_ORDERS && placed.every((id) => isFinal(seen.get(id))),
        undefined,
        stop.signal,
      );
      for (const id of placed) {
        const status = await gateway.orderStatus(id);
        assert.equal(seen.get(id), status.json, `order ${id} at the client as GET /orders/status answers it`);
      }
      const finals = placed.map((id) => seen.get(id)!);
      assert.is(
        finals.filter((order) => order.status === 'FINISHED').length,
        LIVE_PAID,
        'the orders the wallet covered are paid',
      );
      assert.ok(
        finals
          .filter((order) => order.status === 'CANCELLED')
          .every((order) => order.cancel_reason === 'INSUFFICIENT_FUNDS'),
        'the others are cancelled for want of money',
      );
      assert.is((await gateway.balance(wallet.json.bill_id)).json.balance, 0);

      // Two connections, the first ended by the kill of the replica that held it, the second opened
      // elsewhere with the last id the client had seen.
      assert.equal(
        connections.map((c) => c.status),
        [200, 200],
        'the client connected twice, the second time after the first stream ended',
      );
      const [, second] = connections as [StreamConnection, StreamConnection];
      assert.is(second.lastEventId, first.events.at(-1)!.id, 'it reconnected with the last id it had seen');
      const opened = openedStreams(LIVE_USER);
      assert.is(opened.length, 2, 'orders-api opened two streams for the client');
      assert.is.not(opened[1]!.pid, holderPid, 'the second stream was opened by another process');
      assert.not.ok(
        stack.events('order_stream.closed').some((line) => line.pid === holderPid),
        `${holder} never closed the first stream: it died holding it`,
      );
      // No lookback (see before): the catch-up sends what changed after the Last-Event-ID, no more.
      assert.is(opened[1]!.catch_up, true, 'the second stream opened with a catch-up after its Last-Event-ID');
      assert.ok(Number(opened[1]!.sent) >= 1, 'the catch-up brought what was settled while the client had no stream');
      const settledEarlier = new Set(
        first.events
          .filter((e) => isFinal(e.order) && Number(e.id) < Number(second.lastEventId))
          .map((e) => e.order.order_id),
      );
      assert.ok(settledEarlier.size > 0, 'the client had seen orders settle before its last event');
      assert.equal(
        second.events.filter((e) => settledEarlier.has(e.order.order_id)).map((e) => e.order.order_id),
        [],
        'nothing the client had seen settle before its Last-Event-ID came again: a catch-up, not a snapshot',
      );
    } finally {
      stop.abort();
      await Promise.all(reading);
    }
  },
);

replicas.run();
