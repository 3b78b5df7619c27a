import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PAYMENT_SUCCEEDED, type PaymentResult } from '@gozon/contracts';
import { applyPaymentResults, ordersMigrations, type OrdersDb } from '@gozon/orders';
import { newId } from '@gozon/platform';
import {
  createTestDatabase,
  launch,
  readEventStream,
  startFaultProxy,
  waitFor,
  type FaultProxy,
  type LaunchedProcess,
  type TestDatabase,
} from '@gozon/testkit';

// Live order status across orders-api replicas (issue 13): the payment result is
// applied in another process's transaction (as orders-relay's inbox applies it,
// with the NOTIFY that transaction sends), and every replica's streams hear it.

const events = suite('order events: every replica hears every committed change');
let database: TestDatabase<OrdersDb>;
let proxy: FaultProxy;
let replicas: LaunchedProcess[] = [];

interface OrderJson {
  order_id: string;
  status: string;
  cancel_reason: string | null;
}

/** Starts an orders-api process on the test database; resolves with its base URL once it is ready. */
async function startReplica(name: string, env: Record<string, string> = {}): Promise<string> {
  const process_ = await launch({
    name,
    command: [process.execPath, 'orders-api/src/main.ts'],
    env: { DATABASE_URL: database.url, ...env },
    healthPortVariable: 'PORT',
  });
  replicas.push(process_);
  const port = Number(process_.events('api.started')[0]?.port);
  return `http://127.0.0.1:${port}`;
}

async function placeOrder(base: string, userId: string, description: string): Promise<string> {
  const response = await fetch(`${base}/orders/create/${userId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ amount: 10, description }),
  });
  assert.is(response.status, 201);
  return ((await response.json()) as OrderJson).order_id;
}

function paid(orderId: string): PaymentResult {
  return { type: PAYMENT_SUCCEEDED, message_id: newId(), order_id: orderId, occurred_at: new Date().toISOString() };
}

/** Applies payment results as orders-relay's inbox transaction does, NOTIFY included. */
async function settle(results: PaymentResult[]): Promise<void> {
  await applyPaymentResults(database.db, {
    messages: results.map((message) => ({ message, type: message.type, context: { traceparent: null } })),
    settled: [],
  });
}

/** Reads the stream at `url`, handing each order to `onOrder`; `opened` says whether it opened (true) or was refused. */
function followStream(url: string, onOrder: (order: OrderJson) => void = () => {}) {
  const stop = new AbortController();
  let markOpened: (opened: boolean) => void = () => {};
  const opened = new Promise<boolean>((resolve) => (markOpened = resolve));
  let ended = false;
  const reading = readEventStream(url, {
    signal: stop.signal,
    onOpen: () => markOpened(true),
    onEvent: (event) => {
      if (event.event === 'order') onOrder(JSON.parse(event.data) as OrderJson);
    },
  }).finally(() => {
    ended = true;
    markOpened(false);
  });
  return { opened, reading, ended: () => ended, stop: () => stop.abort() };
}

events.before(async () => {
  database = await createTestDatabase<OrdersDb>('order_events', ordersMigrations);
  proxy = await startFaultProxy();
});

events.after.each(async () => {
  // A SIGTERM ends the open streams and exits 0 within the shutdown bound.
  const codes = await Promise.all(replicas.map((replica) => replica.stop()));
  replicas = [];
  assert.ok(
    codes.every((code) => code === 0),
    `clean exits, got ${codes.join(',')}`,
  );
});

events.after(async () => {
  await proxy.close();
  await database.drop();
});

events('a client on replica A sees the order placed through replica B turn FINISHED', async () => {
  const a = await startReplica('orders-api-a');
  const b = await startReplica('orders-api-b');
  const seen: OrderJson[] = [];
  const stop = new AbortController();
  let opened = false;
  const reading = readEventStream(`${a}/orders/events/ann`, {
    signal: stop.signal,
    onOpen: () => (opened = true),
    onEvent: (event) => {
      if (event.event === 'order') seen.push(JSON.parse(event.data) as OrderJson);
    },
  });
  try {
    await waitFor('the stream to open on A', async () => opened);
    const orderId = await placeOrder(b, 'ann', 'a lamp');
    await settle([paid(orderId)]);
    const finished = await waitFor('A to push the FINISHED order', async () =>
      seen.find((order) => order.order_id === orderId && order.status === 'FINISHED'),
    );
    assert.is(finished.cancel_reason, null);
    const status = (await (await fetch(`${b}/orders/status/${orderId}`)).json()) as OrderJson;
    assert.equal(finished, status, 'the event carries the order as /orders/status answers it');
  } finally {
    stop.abort();
    await reading;
  }
});

events('a bad user id is the JSON 400 and a replica at its stream cap answers 503 with Retry-After', async () => {
  const a = await startReplica('orders-api-a', { ORDER_STREAMS_MAX: '1' });
  const bad = await fetch(`${a}/orders/events/-bad`);
  assert.is(bad.status, 400);
  assert.is(((await bad.json()) as { error: { code: string } }).error.code, 'INVALID_USER_ID');
  const stop = new AbortController();
  let opened = false;
  const first = readEventStream(`${a}/orders/events/ann`, {
    signal: stop.signal,
    onOpen: () => (opened = true),
    onEvent: () => {},
  });
  try {
    await waitFor('the first stream to open', async () => opened);
    const second = await fetch(`${a}/orders/events/bob`);
    assert.is(second.status, 503);
    assert.is(second.headers.get('retry-after'), '5');
    assert.is(((await second.json()) as { error: { code: string } }).error.code, 'TOO_MANY_STREAMS');
  } finally {
    stop.abort();
    await first;
  }
});

events(
  'a LISTEN connection that goes silent is noticed: the stream is told to resync, and once the database answers again changes reach a new one',
  async () => {
    // orders-api reaches the database through a proxy that can stall it; the test's own writes do not.
    const a = await startReplica('orders-api-a', {
      DATABASE_URL: proxy.url(database.name),
      LISTEN_PING_MS: '200',
      DB_CONNECTION_TIMEOUT_MS: '500',
    });
    const orderApi = replicas.at(-1)!;
    const orderId = await placeOrder(a, 'lee', 'a kettle');
    const first = followStream(`${a}/orders/events/lee`);
    let second: ReturnType<typeof followStream> | undefined;
    try {
      assert.ok(await first.opened, 'the first stream opens');
      proxy.stall();
      try {
        // Nothing breaks: no FIN, no RST, no error. Only the feed's pings can tell.
        await waitFor('the stream to end, telling its client to resync', async () => first.ended());
        const lost = await waitFor('orders-api to log the lost LISTEN connection', async () =>
          orderApi.events('order_changes.lost').at(0),
        );
        assert.match(JSON.stringify(lost.error), /ping/, 'it says the ping went unanswered');
      } finally {
        proxy.resume();
      }

      const seen: OrderJson[] = [];
      second = await waitFor('a new stream to open once the database answers again', async () => {
        const stream = followStream(`${a}/orders/events/lee`, (order) => seen.push(order));
        return (await stream.opened) && stream;
      });
      await settle([paid(orderId)]);
      await waitFor('the new stream to push the FINISHED order', async () =>
        seen.find((order) => order.order_id === orderId && order.status === 'FINISHED'),
      );
    } finally {
      first.stop();
      second?.stop();
      await Promise.all([first.reading, second?.reading]);
    }
  },
);

events.run();
