import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Order } from '../../src/lib/api.ts';
import { settledText, type SettledOrder } from '../../src/lib/orders.ts';
import {
  openOrderStream,
  orderEventsUrl,
  REOPEN_MS,
  type EventSourceLike,
  type StreamState,
} from '../../src/lib/order-stream.ts';
import { POLL_MS, POLL_MS_AFTER_ERROR, watchOrders, type WatchState } from '../../src/lib/orders-watch.ts';

// The orders state machine as the page runs it, with the browser's parts faked:
// an EventSource the test opens, breaks and feeds, a clock the test moves, and
// an API whose list the test sets.

const BASE = 'http://localhost:8080';
const USER = 'alice';

/** A clock that runs timers only when the test moves it. */
function fakeClock() {
  let now = 0;
  let timers: Array<{ at: number; run: () => void }> = [];
  const schedule = (run: () => void, ms: number) => {
    const timer = { at: now + ms, run };
    timers.push(timer);
    return () => {
      timers = timers.filter((t) => t !== timer);
    };
  };
  /** Moves the clock by ms, running each timer that falls due (and whatever it awaits). */
  const advance = async (ms: number) => {
    const end = now + ms;
    for (;;) {
      const due = timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      timers = timers.filter((t) => t !== due);
      now = due.at;
      due.run();
      await settle();
    }
    now = end;
    await settle();
  };
  return { schedule, advance };
}

const settle = () => new Promise<void>((done) => setTimeout(done, 0));

/** An EventSource the test drives: open(), send(order), drop() (the browser reconnects), refuse() (it gives up). */
class FakeSource implements EventSourceLike {
  readyState = 0;
  onopen: ((event: Event) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  closed = false;
  private listeners: Array<(event: MessageEvent<string>) => void> = [];
  readonly url: string;
  constructor(url: string) {
    this.url = url;
  }
  addEventListener(_type: 'order', listener: (event: MessageEvent<string>) => void) {
    this.listeners.push(listener);
  }
  close() {
    this.closed = true;
    this.readyState = 2;
  }
  open() {
    this.readyState = 1;
    this.onopen?.(new Event('open'));
  }
  sendData(data: string) {
    for (const listener of this.listeners) listener({ data } as MessageEvent<string>);
  }
  send(order: Order) {
    this.sendData(JSON.stringify(orderJson(order)));
  }
  drop() {
    this.readyState = 0;
    this.onerror?.(new Event('error'));
  }
  refuse() {
    this.readyState = 2;
    this.onerror?.(new Event('error'));
  }
}

function orderJson(order: Order) {
  return {
    order_id: order.orderId,
    user_id: order.userId,
    amount: Number(order.amount) / 100,
    description: order.description,
    status: order.status,
    cancel_reason: order.cancelReason,
    created_at: order.createdAt,
    updated_at: order.updatedAt,
  };
}

let second = 0;
function order(description: string, status: Order['status'] = 'NEW', extra: Partial<Order> = {}): Order {
  second += 1;
  const at = new Date(Date.UTC(2026, 10, 30, 12, 0, second)).toISOString();
  return {
    orderId: `order-${second}`,
    userId: USER,
    amount: 12050n,
    description,
    status,
    cancelReason: null,
    createdAt: at,
    updatedAt: at,
    ...extra,
  };
}

const paid = (o: Order): Order => ({ ...o, status: 'FINISHED' });
const cancelled = (o: Order, reason: Order['cancelReason'] = 'INSUFFICIENT_FUNDS'): Order => ({
  ...o,
  status: 'CANCELLED',
  cancelReason: reason,
});

/**
 * The page's orders with everything faked; `list` is what GET /orders/orders
 * answers next, once `gate` (when given) has opened.
 */
async function startWatch(list: Order[], gate?: Promise<void>) {
  const clock = fakeClock();
  const sources: FakeSource[] = [];
  const seen: WatchState[] = [];
  const settled: SettledOrder[] = [];
  const api = {
    list,
    listed: 0,
    failing: false,
    async listOrders(userId: string) {
      assert.is(userId, USER);
      api.listed += 1;
      await gate;
      if (api.failing) throw new Error('no answer');
      return api.list.map((o) => ({ ...o }));
    },
  };
  const watch = watchOrders({
    api,
    userId: USER,
    openStream: (handlers) =>
      openOrderStream({
        baseUrl: BASE,
        userId: USER,
        ...handlers,
        schedule: clock.schedule,
        createSource: (url) => {
          const source = new FakeSource(url);
          sources.push(source);
          return source;
        },
      }),
    onChange: (state) => seen.push(state),
    onSettled: (orders) => settled.push(...orders),
    schedule: clock.schedule,
  });
  await settle();
  return {
    watch,
    api,
    clock,
    settled,
    seen,
    /** the EventSource the page holds now */
    source: () => sources.at(-1)!,
    sources,
    rows: () => watch.state().orders?.map((o) => `${o.description}:${o.status}`) ?? null,
  };
}

/** startWatch with the feed open. */
async function startLive(list: Order[]) {
  const page = await startWatch(list);
  page.source().open();
  return page;
}

const machine = suite('the orders state machine (fake EventSource, fake clock)');

machine('the feed goes to the orders events of the user, through the API address', async () => {
  assert.is(orderEventsUrl(`${BASE}/`, 'a b'), `${BASE}/orders/events/a%20b`);
  const page = await startWatch([]);
  assert.is(page.source().url, `${BASE}/orders/events/${USER}`);
  page.watch.stop();
});

machine('connected: nothing is polled, however long an order stays NEW', async () => {
  const lamp = order('a lamp');
  const page = await startLive([lamp]);
  assert.is(page.watch.state().live, true);
  assert.equal(page.rows(), ['a lamp:NEW']);
  await page.clock.advance(POLL_MS * 20);
  assert.is(page.api.listed, 1, 'only the first list was asked for');
  page.watch.stop();
});

machine('an error on the feed: polling every POLL_MS while an order is NEW, until the feed is back', async () => {
  const lamp = order('a lamp');
  const page = await startLive([lamp]);
  page.source().drop();
  assert.is(page.watch.state().live, false);
  await page.clock.advance(POLL_MS * 3);
  assert.is(page.api.listed, 1 + 3, 'polled as before the feed existed');

  page.source().open(); // the browser reconnected by itself
  assert.is(page.watch.state().live, true);
  await page.clock.advance(POLL_MS * 10);
  assert.is(page.api.listed, 4, 'no polling once live again');
  page.watch.stop();
});

machine('no feed and nothing NEW: nothing to poll', async () => {
  const page = await startWatch([order('a book', 'FINISHED')]);
  page.source().drop();
  await page.clock.advance(POLL_MS * 10);
  assert.is(page.api.listed, 1);
  page.watch.stop();
});

machine('a failed poll waits longer and says so; the next one clears it', async () => {
  const lamp = order('a lamp');
  const page = await startWatch([lamp]);
  page.api.failing = true;
  await page.clock.advance(POLL_MS);
  assert.is(page.api.listed, 2);
  assert.match(page.watch.state().error ?? '', /no answer/);
  await page.clock.advance(POLL_MS_AFTER_ERROR - 1);
  assert.is(page.api.listed, 2, 'not before POLL_MS_AFTER_ERROR');
  page.api.failing = false;
  await page.clock.advance(1);
  assert.is(page.api.listed, 3);
  assert.is(page.watch.state().error, null);
  page.watch.stop();
});

machine('a feed the browser gave up on (503, 404) is opened again after a wait; polling meanwhile', async () => {
  const lamp = order('a lamp');
  const page = await startWatch([lamp]);
  const first = page.source();
  first.refuse();
  assert.is(first.closed, true);
  assert.is(page.sources.length, 1);
  await page.clock.advance(REOPEN_MS);
  assert.is(page.sources.length, 2, 'a new EventSource');
  assert.ok(page.api.listed > 1, 'the list was polled while there was no feed');
  page.source().open();
  const listed = page.api.listed;
  await page.clock.advance(POLL_MS * 10);
  assert.is(page.api.listed, listed);
  page.watch.stop();
});

machine('an order event replaces its row in place, and its settling is told once, in words', async () => {
  const book = order('a book', 'FINISHED');
  const lamp = order('a lamp');
  const sofa = order('a sofa');
  const page = await startLive([sofa, lamp, book]);
  page.source().send(paid(lamp));
  assert.equal(page.rows(), ['a sofa:NEW', 'a lamp:FINISHED', 'a book:FINISHED']);
  page.source().send(cancelled(sofa));
  assert.equal(page.rows(), ['a sofa:CANCELLED', 'a lamp:FINISHED', 'a book:FINISHED']);
  assert.equal(page.settled.map(settledText), [
    "Order 'a lamp' paid — 120.50\u00a0₽",
    "Order 'a sofa' cancelled: not enough money",
  ]);
  assert.is(page.api.listed, 1, 'the feed alone did it');
  page.watch.stop();
});

machine('duplicates and out-of-order events never move a final order back, nor tell it twice', async () => {
  const lamp = order('a lamp');
  const page = await startLive([lamp]);
  page.source().send(paid(lamp));
  page.source().send(lamp); // an older event, late
  page.source().send(paid(lamp)); // the catch-up after a reconnect
  page.source().send(cancelled(lamp)); // nonsense: a final status is final
  assert.equal(page.rows(), ['a lamp:FINISHED']);
  assert.is(page.settled.length, 1);

  page.source().drop(); // and a list that was on its way says NEW
  page.api.list = [lamp];
  await page.watch.refresh();
  assert.equal(page.rows(), ['a lamp:FINISHED']);
  assert.is(page.settled.length, 1);
  page.watch.stop();
});

machine('an order settled before the answer to its POST: shown, told once, not moved back', async () => {
  const book = order('a book', 'FINISHED');
  const page = await startLive([book]);
  const lamp = order('a lamp');
  page.source().send(cancelled(lamp, 'NO_ACCOUNT'));
  page.watch.addPlaced([lamp]);
  assert.equal(page.rows(), ['a lamp:CANCELLED', 'a book:FINISHED']);
  assert.equal(page.settled.map(settledText), ["Order 'a lamp' cancelled: no wallet"]);
  page.watch.stop();
});

machine('the first order of a new user, settled before its POST answer, is told too', async () => {
  const page = await startLive([]);
  const lamp = order('a lamp');
  page.source().send(paid(lamp));
  page.watch.addPlaced([lamp]);
  assert.equal(page.rows(), ['a lamp:FINISHED']);
  assert.equal(page.settled.map(settledText), ["Order 'a lamp' paid — 120.50\u00a0₽"]);
  page.watch.stop();
});

machine('a placed order stays while lists without it arrive, then the feed settles it', async () => {
  const page = await startLive([]);
  const lamp = order('a lamp');
  page.watch.addPlaced([lamp]);
  await page.watch.refresh(); // a list sent before the order was committed
  assert.equal(page.rows(), ['a lamp:NEW']);
  page.source().send(paid(lamp));
  assert.equal(page.rows(), ['a lamp:FINISHED']);
  assert.is(page.settled.length, 1);
  page.watch.stop();
});

machine('events before the first list are kept for it, and a first load tells nothing', async () => {
  let letAnswer = () => {};
  const lamp = order('a lamp');
  const book = order('a book');
  const page = await startWatch([lamp, book], new Promise<void>((done) => (letAnswer = done)));
  page.source().open();
  page.source().send(paid(book)); // the feed's catch-up, before the list has come
  assert.is(page.rows(), null, 'still loading');
  letAnswer();
  await settle();
  assert.equal(page.rows(), ['a book:FINISHED', 'a lamp:NEW']);
  assert.equal(page.settled, []);
  page.watch.stop();
});

machine('an event the page cannot read is skipped', async () => {
  const lamp = order('a lamp');
  const page = await startLive([lamp]);
  page.source().sendData('not json');
  page.source().sendData(JSON.stringify({ order_id: 'x' }));
  assert.equal(page.rows(), ['a lamp:NEW']);
  page.watch.stop();
});

machine('stopped (the person switched users): the feed is closed and nothing more happens', async () => {
  const lamp = order('a lamp');
  const page = await startWatch([lamp]);
  page.source().drop();
  page.watch.stop();
  assert.is(page.source().closed, true);
  const changes = page.seen.length;
  await page.clock.advance(POLL_MS * 10);
  assert.is(page.api.listed, 1);
  assert.is(page.seen.length, changes);
});

machine.run();

const feed = suite('openOrderStream');

feed('says down until open, live when open, down on every error', () => {
  const states: StreamState[] = [];
  let source: FakeSource | undefined;
  const stream = openOrderStream({
    baseUrl: BASE,
    userId: USER,
    onOrder: () => {},
    onState: (state) => states.push(state),
    createSource: (url) => (source = new FakeSource(url)),
    schedule: () => () => {},
  });
  source!.open();
  source!.drop();
  source!.open();
  assert.equal(states, ['down', 'live', 'down', 'live']);
  stream.close();
  assert.is(source!.closed, true);
});

feed.run();
