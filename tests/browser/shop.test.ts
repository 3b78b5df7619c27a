// The shop as a person uses it: headless Chromium drives the UI served on
// :3000 against the whole stack (`npm run stack` on databases and queues of
// this test's own). Screenshots of each screen go to test-artifacts/browser/.
//   node tests/browser/shop.test.ts
// Needs PostgreSQL, RabbitMQ, nginx and Debian's chromium (/usr/bin/chromium).
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { gateway, waitFor, type Stack } from '@gozon/testkit';
import {
  chooseUser,
  DESKTOP,
  orderRow,
  placeOrder,
  ROOT,
  shot as shotIn,
  startShop,
  statusOf,
  textOf,
  topUp,
  UI,
  waitForText,
} from './shop-page.ts';

const ARTIFACTS = join(ROOT, 'test-artifacts/browser');
const shot = (target: Page, name: string, fullPage = true) => shotIn(target, ARTIFACTS, name, fullPage);
const RUN = Date.now().toString(36);
const PHONE = { width: 375, height: 800 };

const shop = suite('the shop in a browser');

let stack: Stack | undefined;
let browser: Browser | undefined;
let desktop: BrowserContext;
let page: Page;
const pageErrors: string[] = [];

const users = {
  alice: `alice-${RUN}`,
  nobody: `nobody-${RUN}`,
  rich: `rich-${RUN}`,
  burst: `burst-${RUN}`,
  lost: `lost-${RUN}`,
};

async function billIdShown(target: Page) {
  const billId = await target.locator('.wallet-id code').textContent();
  assert.ok(billId && /^[0-9a-f-]{36}$/.test(billId), `a bill id is shown: ${billId}`);
  return billId;
}

/** A POST to place an order as the page sent it, and what the gateway answered before the page was (or was not) told. */
interface OrderPost {
  key: string | undefined;
  body: string | null;
  status?: number;
  replayed?: string;
}

/**
 * Routes the page's POSTs to create orders for userId through to the real gateway, and
 * lets `fate(n)` decide, for the n-th one (1-based), what the page hears once the server
 * has answered: 'lose' drops the connection (the server has committed, the browser never
 * hears), 'deliver' passes the answer on. Each may be held first until `hold(n)` resolves.
 */
async function routeOrderPosts(
  target: Page,
  userId: string,
  fate: (n: number, post: OrderPost) => 'lose' | 'deliver',
  hold: (n: number) => Promise<void> = async () => {},
) {
  const posts: OrderPost[] = [];
  const answered: Array<() => void> = [];
  const pattern = `**/orders/create/${userId}`;
  await target.route(pattern, async (route) => {
    const request = route.request();
    if (request.method() !== 'POST') return route.continue();
    const post: OrderPost = {
      key: (await request.headerValue('idempotency-key')) ?? undefined,
      body: request.postData(),
    };
    posts.push(post);
    const n = posts.length;
    const response = await route.fetch();
    post.status = response.status();
    post.replayed = response.headers()['idempotent-replayed'];
    answered[n]?.();
    await hold(n);
    if (fate(n, post) === 'lose') return route.abort('connectionreset');
    return route.fulfill({ response });
  });
  return {
    posts,
    /** Resolves once the server has answered the n-th POST (so it has committed whatever it did). */
    serverAnswered: (n: number) =>
      n <= posts.filter((p) => p.status !== undefined).length
        ? Promise.resolve()
        : new Promise<void>((done) => (answered[n] = done)),
    unroute: () => target.unroute(pattern),
  };
}

function deferred() {
  let release = () => {};
  const promise = new Promise<void>((done) => (release = done));
  return { promise, release };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

shop.before(async () => {
  ({ stack, browser, desktop, page } = await startShop('browser', ARTIFACTS, pageErrors));
});

shop.after(async () => {
  await browser?.close();
  if (stack) assert.is(await stack.stop(), 0, 'the stack stops cleanly');
});

shop('the UI is served with its runtime config and SPA fallback', async () => {
  const config = await fetch(`${UI}/config.json`);
  assert.is(config.status, 200);
  assert.match(config.headers.get('content-type') ?? '', /^application\/json/);
  const body = (await config.json()) as { apiBaseUrl: string; gatewayPort: number };
  assert.equal(body, { apiBaseUrl: '', gatewayPort: 8080 }, 'the gateway on the host the page was opened at');
  const deep = await fetch(`${UI}/some/deep/link`);
  assert.is(deep.status, 200, 'any path is the app');
  assert.match(await deep.text(), /<div id="app">/);
  assert.match(deep.headers.get('cache-control') ?? '', /no-cache/);
});

shop('a person picks a name, opens a wallet, tops it up and an order is paid', async () => {
  await page.goto(UI);
  await page.getByRole('heading', { name: 'Who is shopping?' }).waitFor();
  await shot(page, '01-welcome');

  await chooseUser(page, users.alice);
  await page.getByTestId('no-wallet').waitFor();
  await page.getByTestId('no-orders').waitFor();
  await shot(page, '02-new-user-no-wallet');

  await page.getByRole('button', { name: 'Open wallet' }).click();
  await waitForText(page.getByTestId('balance'), '0.00 ₽');
  const billId = await billIdShown(page);

  // Bad amounts are refused before anything is sent, next to the field.
  await topUp(page, '12.345');
  await waitForText(page.locator('#topup-amount-error'), /at most two decimals/);
  await placeOrder(page, '1,5', 'a bad amount');
  await waitForText(page.locator('#order-amount-error'), 'Use a dot for kopecks, e.g. 149.90.');
  assert.is(await page.getByLabel('Amount', { exact: true }).getAttribute('aria-invalid'), 'true');
  await shot(page, '03-validation-errors');
  assert.equal((await gateway.listOrders(users.alice)).json.orders, [], 'nothing was ordered');
  assert.is((await gateway.balance(billId)).json.balance, 0, 'nothing was added');

  await topUp(page, '500.50');
  await waitForText(page.getByTestId('balance'), '500.50 ₽');
  assert.is((await gateway.balance(billId)).json.balance, 500.5);

  const polls: string[] = [];
  page.on('request', (request) => {
    if (request.url().includes(`/orders/orders/${users.alice}`)) polls.push(request.url());
  });
  await placeOrder(page, '149.90', 'a book');
  await waitFor('the book to be FINISHED in the UI', async () => (await statusOf(page, 'a book')) === 'FINISHED');
  await waitForText(orderRow(page, 'a book').getByTestId('order-status'), 'Finished');
  await waitForText(page.getByTestId('balance'), '350.60 ₽', 10_000);
  await waitForText(page.getByTestId('watching'), 'All settled');
  await shot(page, '04-order-finished');

  const listed = (await gateway.listOrders(users.alice)).json.orders;
  assert.is(listed.length, 1);
  assert.is(listed[0]!.status, 'FINISHED');
  assert.is(listed[0]!.amount, 149.9);
  assert.is((await gateway.balance(billId)).json.balance, 350.6);

  // Nothing pending: the page stops asking.
  const before = polls.length;
  await page.waitForTimeout(1_500);
  assert.is(polls.length, before, `no polling once every order is final (${polls.length - before} more requests)`);
});

shop('without the live feed, while an order is NEW the page asks about every 500 ms, then stops', async () => {
  // The feed blocked (and the page opened again, so the open one is gone): the page falls back to polling.
  const feed = '**/orders/events/**';
  await page.route(feed, (route) => route.abort('connectionrefused'));
  await page.reload();
  await waitForText(page.getByTestId('live-indicator'), 'Updating every 0.5 s');
  // Payment takes milliseconds here; hold the order at NEW in the answers for 2 s to watch the watching.
  const lamp = 'a lamp';
  const asked: number[] = [];
  let holdUntil = Number.POSITIVE_INFINITY;
  const list = `**/orders/orders/${users.alice}`;
  await page.route(list, async (route) => {
    asked.push(Date.now());
    const response = await route.fetch();
    const body = (await response.json()) as {
      orders: Array<{ description: string; status: string; cancel_reason: string | null }>;
    };
    if (Date.now() < holdUntil) {
      for (const order of body.orders)
        if (order.description === lamp) Object.assign(order, { status: 'NEW', cancel_reason: null });
    }
    await route.fulfill({ response, json: body });
  });
  try {
    const placedAt = Date.now();
    holdUntil = placedAt + 2_000;
    await placeOrder(page, '10', lamp);
    await waitForText(page.getByTestId('watching'), 'Watching 1 payment…');
    await waitForText(orderRow(page, lamp).getByTestId('order-status'), 'New');
    await shot(page, '04b-order-pending', false);

    await waitFor(
      'the lamp to be FINISHED once it is let through',
      async () => (await statusOf(page, lamp)) === 'FINISHED',
      10_000,
    );
    await waitForText(page.getByTestId('balance'), '340.60 ₽', 10_000);
    const whileNew = asked.filter((t) => t >= placedAt && t < holdUntil).length;
    assert.ok(whileNew >= 2 && whileNew <= 6, `asked ${whileNew} times in the 2 s the order was NEW`);

    const settled = asked.length;
    await page.waitForTimeout(1_200);
    assert.is(asked.length, settled, 'and not again once it is final');
  } finally {
    await page.unroute(list);
    await page.unroute(feed);
  }
});

shop('an order without a wallet is cancelled with the reason in words (keyboard only)', async () => {
  const field = page.getByLabel('Switch to another user');
  await field.focus();
  await page.keyboard.type(users.nobody);
  await page.keyboard.press('Enter');
  await waitForText(page.getByTestId('current-user'), users.nobody);
  await page.getByTestId('no-wallet').waitFor();

  await page.getByLabel('Amount', { exact: true }).focus();
  await page.keyboard.type('5');
  await page.keyboard.press('Tab');
  await page.keyboard.type('nothing to pay with');
  await page.keyboard.press('Enter');

  await waitFor(
    'the order to be CANCELLED in the UI',
    async () => (await statusOf(page, 'nothing to pay with')) === 'CANCELLED',
  );
  await waitForText(orderRow(page, 'nothing to pay with').getByTestId('cancel-reason'), 'No wallet');
  await shot(page, '05-no-wallet-cancelled');

  const listed = (await gateway.listOrders(users.nobody)).json.orders;
  assert.is(listed[0]!.status, 'CANCELLED');
  assert.is(listed[0]!.cancel_reason, 'NO_ACCOUNT');

  // The last user is one click away.
  await page.getByRole('button', { name: new RegExp(`^${users.alice}( wallet)?$`) }).click();
  await waitForText(page.getByTestId('current-user'), users.alice);
  await waitForText(page.getByTestId('balance'), '340.60 ₽');
  await waitFor('alice’s order list', async () => (await statusOf(page, 'a lamp')) === 'FINISHED');
});

shop('an error from the server is shown in words at the form that caused it', async () => {
  await chooseUser(page, users.rich);
  await page.getByRole('button', { name: 'Open wallet' }).click();
  await waitForText(page.getByTestId('balance'), '0.00 ₽');
  await topUp(page, '1000000000000');
  await waitForText(page.getByTestId('balance'), '1 000 000 000 000.00 ₽');
  await topUp(page, '0.01');
  await waitForText(
    page.locator('.topup [role="alert"]'),
    /^A wallet holds at most 1000000000000\.00 ₽; this top-up would exceed it\.$/,
  );
  await waitForText(page.getByTestId('balance'), '1 000 000 000 000.00 ₽');
  await shot(page, '05b-server-error');
});

shop(
  'a burst of 20 orders, each under its own key, 3 of whose answers are lost, against a wallet that covers 12: 12 paid, 8 cancelled, balance exact',
  async () => {
    await chooseUser(page, users.burst);
    await page.getByRole('button', { name: 'Open wallet' }).click();
    await waitForText(page.getByTestId('balance'), '0.00 ₽');
    const billId = await billIdShown(page);
    await topUp(page, '1234.56');
    await waitForText(page.getByTestId('balance'), '1 234.56 ₽');

    // The server places the 2nd, 5th and 9th to arrive, but their answers never reach the page.
    // The retries are held until the page has been seen saying so.
    const lost = new Set([2, 5, 9]);
    const retries = deferred();
    const posts = await routeOrderPosts(
      page,
      users.burst,
      (n) => (lost.has(n) ? 'lose' : 'deliver'),
      (n) => (n > 20 ? retries.promise : Promise.resolve()),
    );
    await page.getByLabel('Orders', { exact: true }).fill('20');
    await page.getByLabel('Amount of each').fill('100');
    await page.getByRole('button', { name: 'Place them all at once' }).click();
    await waitForText(
      page.getByTestId('burst-working'),
      'Still working: 3 of 20 got no answer yet and are being sent again; each order will be placed only once.',
    );
    await posts.serverAnswered(23);
    assert.ok(await page.getByRole('button', { name: 'Placing 20 orders…' }).isDisabled());
    await shot(page, '06a-burst-retrying', false);
    retries.release();

    const summary = page.getByTestId('burst-summary');
    await summary.waitFor({ timeout: 30_000 });
    await posts.unroute();
    const keys = posts.posts.map((p) => p.key ?? '');
    assert.is(keys.length, 23, '20 orders and 3 retries');
    assert.ok(keys.every((key) => UUID.test(key)));
    assert.is(new Set(keys.slice(0, 20)).size, 20, 'each order its own key');
    const lostKeys = [...lost].map((n) => keys[n - 1]);
    assert.equal(keys.slice(20).sort(), lostKeys.sort(), 'the retries are those three, under their own keys');
    assert.ok(
      posts.posts.slice(20).every((p) => p.replayed === 'true'),
      'and the server replayed them',
    );
    assert.is(await textOf(page.getByTestId('burst-finished')), '12');
    assert.is(await textOf(page.getByTestId('burst-cancelled')), '8');
    assert.is(await textOf(page.getByTestId('burst-expected')), '34.56 ₽');
    assert.is(await textOf(page.getByTestId('burst-actual')), '34.56 ₽');
    assert.match(await textOf(page.getByTestId('burst-verdict')), /^✓ ?Balance matches/);
    await waitForText(page.getByTestId('balance'), '34.56 ₽');
    await shot(page, '06-burst-summary');

    const listed = (await gateway.listOrders(users.burst)).json.orders;
    assert.is(listed.length, 20);
    assert.is(listed.filter((o) => o.status === 'FINISHED').length, 12);
    const cancelled = listed.filter((o) => o.status === 'CANCELLED');
    assert.is(cancelled.length, 8);
    assert.ok(cancelled.every((o) => o.cancel_reason === 'INSUFFICIENT_FUNDS'));
    assert.is((await gateway.balance(billId)).json.balance, 34.56);
    assert.is(await page.locator('[data-order-id]').count(), 10, 'the latest ten are shown');
    await page.getByRole('button', { name: 'Show all 20 orders' }).click();
    assert.is(await page.locator('[data-order-id]').count(), 20);
    assert.is(
      await page.locator('[data-status="CANCELLED"]').filter({ hasText: 'Not enough money in the wallet' }).count(),
      8,
    );
    assert.is(await page.locator('[data-status="FINISHED"]').count(), 12);
  },
);

shop('at phone width (375 × 800) the shop is one column without sideways scrolling', async () => {
  const phone = await browser!.newContext({
    viewport: PHONE,
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    storageState: await desktop.storageState(),
  });
  const small = await phone.newPage();
  small.on('pageerror', (error) => pageErrors.push(error.message));
  await small.goto(UI);
  await waitForText(small.getByTestId('current-user'), users.burst);
  await waitForText(small.getByTestId('balance'), '34.56 ₽');
  await small.locator('[data-order-id]').first().waitFor();
  const width = Number(await small.evaluate('document.documentElement.scrollWidth'));
  assert.ok(width <= PHONE.width, `page is ${width}px wide`);
  const wallet = await small.locator('.card-wallet').boundingBox();
  const orders = await small.locator('.card-orders').boundingBox();
  assert.ok(wallet && orders && orders.y > wallet.y && Math.abs(orders.x - wallet.x) < 1, 'cards stack in one column');
  await shot(small, '07-phone-top', false);
  await shot(small, '08-phone-full');
  await small
    .locator('.card-orders')
    .screenshot({ path: join(ARTIFACTS, '08-phone-orders.png'), animations: 'disabled' });
  await phone.close();
});

shop(
  'one click is one order: an answer lost after the server placed it is retried under the same key, paid once, and the page says it is still working',
  async () => {
    await chooseUser(page, users.lost);
    await page.getByRole('button', { name: 'Open wallet' }).click();
    await waitForText(page.getByTestId('balance'), '0.00 ₽');
    const billId = await billIdShown(page);
    await topUp(page, '100');
    await waitForText(page.getByTestId('balance'), '100.00 ₽');

    const first = deferred();
    const second = deferred();
    const orders = await routeOrderPosts(
      page,
      users.lost,
      (n) => (n === 1 ? 'lose' : 'deliver'),
      (n) => (n === 1 ? first.promise : n === 2 ? second.promise : Promise.resolve()),
    );
    try {
      const button = page.locator('[data-testid="order-form"] button[type="submit"]');
      await placeOrder(page, '30', 'an answer that got lost');
      await orders.serverAnswered(1);
      const placedNow = (await gateway.listOrders(users.lost)).json.orders;
      assert.is(placedNow.length, 1, 'the server has placed it while the page still waits');

      // In flight: the page says so, and a second click or Enter cannot start another order.
      await waitForText(
        page.getByTestId('order-working'),
        /^Still working… The order will be placed only once, so there is no need to click again\.$/,
      );
      assert.ok(await button.isDisabled(), 'the submit button is disabled while the order is in flight');
      assert.is(await textOf(button), 'Placing…');
      assert.ok(await page.getByLabel('Description').isDisabled(), 'the order cannot be edited mid-flight');
      await button.click({ force: true });
      await page.evaluate(`document.querySelector('[data-testid="order-form"]').requestSubmit()`);
      await shot(page, '11-order-still-working', false);

      first.release(); // the answer to the first POST is lost: the connection drops
      await orders.serverAnswered(2);
      await waitForText(
        page.getByTestId('order-working'),
        'Still working: the gateway could not be reached. Trying again (2 of 3); the order will be placed only once.',
      );
      assert.ok(await button.isDisabled(), 'still disabled while it retries');
      await shot(page, '12-order-retrying', false);
      second.release();

      await waitForText(
        page.locator('.card-order [role="status"].notice-ok'),
        'Placed “an answer that got lost” for 30.00 ₽. Watch it in Your orders.',
      );
      await waitFor(
        'the order to be FINISHED in the UI',
        async () => (await statusOf(page, 'an answer that got lost')) === 'FINISHED',
      );
      await waitForText(page.getByTestId('balance'), '70.00 ₽', 10_000);
      assert.is(await button.isDisabled(), false, 'ready for the next order');
      await shot(page, '13-order-placed-once');

      assert.is(orders.posts.length, 2, 'the first attempt and one retry; the forced click and submit sent nothing');
      const [one, two] = orders.posts;
      assert.match(one!.key ?? '', UUID);
      assert.is(two!.key, one!.key, 'the retry carries the same Idempotency-Key');
      assert.is(two!.body, one!.body, 'and the same body');
      assert.is(one!.status, 201);
      assert.is(two!.status, 201);
      assert.is(two!.replayed, 'true', 'the server replayed the first answer');

      const listed = (await gateway.listOrders(users.lost)).json.orders;
      assert.is(listed.length, 1, 'exactly one order');
      assert.is(listed[0]!.status, 'FINISHED');
      assert.is((await gateway.balance(billId)).json.balance, 70, 'paid once');
      assert.is(await page.locator('[data-order-id]').count(), 1, 'and the page shows one');
    } finally {
      await orders.unroute();
    }
  },
);

shop(
  'when every automatic retry loses its answer, “Try again” sends the same order again: still one order, paid once; a new order gets a new key',
  async () => {
    await waitForText(page.getByTestId('current-user'), users.lost);
    const billId = await billIdShown(page);
    let reachable = false;
    const orders = await routeOrderPosts(page, users.lost, () => (reachable ? 'deliver' : 'lose'));
    try {
      await placeOrder(page, '20', 'no answer three times');
      const failure = page.getByTestId('order-form-error');
      await waitForText(
        failure,
        /^The gateway at .+ cannot be reached\. Check that the shop’s API is running\. It is not known yet whether the order was placed\. “Try again” sends the same order, and it can never be placed twice\.$/,
      );
      assert.is(orders.posts.length, 3, 'three attempts, then the person is told');
      const placed = (await gateway.listOrders(users.lost)).json.orders.filter(
        (o) => o.description === 'no answer three times',
      );
      assert.is(placed.length, 1, 'the server placed it once although it heard it three times');
      await shot(page, '14-order-outcome-unknown');

      reachable = true;
      await page.getByTestId('order-form-error-again').click();
      await waitForText(
        page.locator('.card-order [role="status"].notice-ok'),
        'Placed “no answer three times” for 20.00 ₽. Watch it in Your orders.',
      );
      await waitFor(
        'the order to be FINISHED in the UI',
        async () => (await statusOf(page, 'no answer three times')) === 'FINISHED',
      );
      await waitForText(page.getByTestId('balance'), '50.00 ₽', 10_000);
      assert.is(orders.posts.length, 4);
      assert.is(new Set(orders.posts.map((p) => p.key)).size, 1, 'every attempt, automatic and by hand, under one key');
      assert.is(new Set(orders.posts.map((p) => p.body)).size, 1);
      assert.is(orders.posts[3]!.replayed, 'true');

      await placeOrder(page, '5', 'a second, new order');
      await waitFor(
        'the new order to be FINISHED in the UI',
        async () => (await statusOf(page, 'a second, new order')) === 'FINISHED',
      );
      assert.is(orders.posts.length, 5);
      assert.match(orders.posts[4]!.key ?? '', UUID);
      assert.is.not(orders.posts[4]!.key, orders.posts[0]!.key, 'a new action, a new key');

      const listed = (await gateway.listOrders(users.lost)).json.orders;
      assert.equal(listed.map((o) => o.description).sort(), [
        'a second, new order',
        'an answer that got lost',
        'no answer three times',
      ]);
      assert.ok(listed.every((o) => o.status === 'FINISHED'));
      await waitForText(page.getByTestId('balance'), '45.00 ₽', 10_000);
      assert.is((await gateway.balance(billId)).json.balance, 45, '100 − 30 − 20 − 5: each paid once');
    } finally {
      await orders.unroute();
    }
  },
);

shop(
  'a burst order whose answer never comes is offered again, under its own key: the balance is checked only once it is known',
  async () => {
    await waitForText(page.getByTestId('current-user'), users.lost);
    const billId = await billIdShown(page);
    await waitForText(page.getByTestId('balance'), '45.00 ₽');
    // The second order to arrive is placed by the server, but no answer to it reaches the page.
    let reachable = false;
    let unlucky: string | undefined;
    const posts = await routeOrderPosts(page, users.lost, (n, post) => {
      if (n === 2) unlucky = post.key;
      return !reachable && post.key === unlucky ? 'lose' : 'deliver';
    });
    try {
      await page.getByLabel('Orders', { exact: true }).fill('3');
      await page.getByLabel('Amount of each').fill('5');
      await page.getByRole('button', { name: 'Place them all at once' }).click();
      await waitForText(
        page.getByTestId('burst-unsure'),
        /^1 order got no answer: The gateway at .+ cannot be reached\. Check that the shop’s API is running\. It is not known yet whether it was placed\. “Try again” sends the same order, and none can be placed twice\.$/,
        30_000,
      );
      await waitForText(
        page.getByTestId('burst-verdict'),
        /^\? ?Not checked yet: 1 order got no answer, and the balance may include it\.$/,
      );
      assert.is(await textOf(page.getByTestId('burst-finished')), '2');
      assert.is(posts.posts.length, 3 + 2, 'three orders, and two automatic retries of the unlucky one');
      const placed = (await gateway.listOrders(users.lost)).json.orders.filter((o) =>
        o.description.startsWith('Burst order'),
      );
      assert.is(placed.length, 3, 'the server placed all three, each once');
      await shot(page, '15-burst-outcome-unknown');

      reachable = true;
      await page.getByTestId('burst-unsure-again').click();
      await waitForText(
        page.getByTestId('burst-verdict'),
        /^✓ ?Balance matches: each finished order was paid exactly once\.$/,
        15_000,
      );
      assert.is(await textOf(page.getByTestId('burst-finished')), '3');
      assert.is(await textOf(page.getByTestId('burst-expected')), '30.00 ₽');
      assert.is(await textOf(page.getByTestId('burst-actual')), '30.00 ₽');
      assert.is(await page.getByTestId('burst-unsure').count(), 0);
      assert.is(posts.posts.length, 6);
      assert.is(posts.posts[5]!.key, unlucky, 'the same order again, under its key');
      assert.is(posts.posts[5]!.replayed, 'true');
      assert.is(new Set(posts.posts.map((p) => p.key)).size, 3, 'three orders, three keys');
      await shot(page, '16-burst-known-again');

      const listed = (await gateway.listOrders(users.lost)).json.orders;
      assert.is(listed.filter((o) => o.description.startsWith('Burst order')).length, 3);
      assert.is((await gateway.balance(billId)).json.balance, 30, 'each paid once');
    } finally {
      await posts.unroute();
    }
  },
);

shop('loading, an unreachable gateway and a server error are each shown in words where they happened', async () => {
  const context = await browser!.newContext({ viewport: DESKTOP });
  const offline = await context.newPage();
  offline.on('pageerror', (error) => pageErrors.push(error.message));
  const { gatewayPort } = (await (await fetch(`${UI}/config.json`)).json()) as { gatewayPort: number };
  // The gateway as the page finds it: on the host the page was opened at, at gatewayPort.
  const base = Object.assign(new URL(UI), { port: String(gatewayPort) }).origin;
  let release = () => {};
  const held = new Promise<void>((done) => (release = done));
  const creates: Array<{ key: string | null }> = [];
  await offline.route(`${base}/**`, async (route) => {
    const url = route.request().url();
    if (url.includes('/orders/create/') && route.request().method() === 'POST') {
      creates.push({ key: await route.request().headerValue('idempotency-key') });
      return route.fulfill({
        status: 503,
        headers: { 'access-control-allow-origin': new URL(UI).origin, 'retry-after': '1' },
        contentType: 'application/json',
        body: JSON.stringify({
          error: { code: 'SERVICE_UNAVAILABLE', message: 'the service behind the gateway is unavailable, try again' },
        }),
      });
    }
    if (url.includes('/orders/orders/')) await held;
    return route.abort('connectionrefused');
  });
  await offline.goto(UI);
  await chooseUser(offline, `offline-${RUN}`);
  assert.is(await offline.locator('.order-skeleton').count(), 3, 'the orders are loading');
  await shot(offline, '09-loading', false);
  release();

  const unreachable = new RegExp(`^The gateway at ${base.replace(/[.]/g, '\\.')} cannot be reached`);
  await waitForText(offline.locator('.card-orders [role="alert"]'), unreachable);
  await offline.getByRole('button', { name: 'Open wallet' }).click();
  await waitForText(offline.locator('.card-wallet [role="alert"]'), unreachable);
  await placeOrder(offline, '10', 'while the orders service is down');
  // A 503 is retried under the same key, then the person is told, with a way to send the same order again.
  await waitForText(
    offline.getByTestId('order-form-error'),
    /^The service behind the gateway is unavailable, try again\. It is not known yet whether the order was placed\./,
  );
  await offline.getByTestId('order-form-error-again').waitFor();
  const tries = new Set(creates.map((c) => c.key));
  assert.is(creates.length, 3, 'bounded: three attempts');
  assert.is(tries.size, 1, 'all under one key');
  await shot(offline, '10-errors-in-place');
  await context.close();
});

shop('no script errors on any page', () => {
  assert.equal(pageErrors, []);
});

shop.run();
