// Live order status in a real browser: the page holds the orders feed
// (GET /orders/events/{user}, text/event-stream, through the gateway) and an
// order settles on screen without the page asking for the list again; a
// cancelled one says why, in the row and in a toast; with the feed blocked the
// page says it is polling instead. Screenshots go to test-artifacts/live-status/.
//   node tests/browser/live-status.test.ts
// Needs PostgreSQL, RabbitMQ, nginx and Debian's chromium (/usr/bin/chromium).
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { gateway, waitFor, type Stack } from '@gozon/testkit';
import {
  chooseUser,
  collectPageErrors,
  orderRow,
  placeOrder,
  ROOT,
  shot as shotIn,
  startShop,
  statusOf,
  topUp,
  UI,
  waitForText,
} from './shop-page.ts';

const ARTIFACTS = join(ROOT, 'test-artifacts/live-status');
const shot = (target: Page, name: string) => shotIn(target, ARTIFACTS, name, false);
const RUN = Date.now().toString(36);
const USER = `live-${RUN}`;

/**
 * The message of the toast about one order: the toast itself also holds its
 * Dismiss button, whose "×" is part of the toast's text.
 */
const toastAbout = (target: Page, description: string) => target.getByTestId('toast').filter({ hasText: description });
const toastMessage = (target: Page, description: string) => toastAbout(target, description).getByTestId('toast-text');

const live = suite('live order status in a browser');

let stack: Stack | undefined;
let browser: Browser | undefined;
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];
/** Every request the page made for the order list (the polling), in order. */
const listRequests: string[] = [];

live.before(async () => {
  ({ stack, browser, desktop: context, page } = await startShop('live', ARTIFACTS, pageErrors));
  page.on('request', (request) => {
    if (request.url().includes('/orders/orders/')) listRequests.push(request.url());
  });
});

live.after(async () => {
  await browser?.close();
  if (stack) assert.is(await stack.stop(), 0, 'the stack stops cleanly');
});

live('an order turns FINISHED on screen with no polling request, and a toast says it was paid', async () => {
  await page.goto(UI);
  await chooseUser(page, USER);
  await page.getByRole('button', { name: 'Open wallet' }).click();
  await waitForText(page.getByTestId('balance'), '0.00 ₽');
  await topUp(page, '500');
  await waitForText(page.getByTestId('balance'), '500.00 ₽');
  await waitForText(page.getByTestId('live-indicator'), 'Live');

  const listedBefore = listRequests.length;
  await placeOrder(page, '120.50', 'a lamp');
  await waitFor('the lamp to be FINISHED in the UI', async () => (await statusOf(page, 'a lamp')) === 'FINISHED');
  await waitForText(orderRow(page, 'a lamp').getByTestId('order-status'), 'Finished');
  await waitForText(toastMessage(page, 'a lamp'), "Order 'a lamp' paid — 120.50 ₽");
  await waitForText(page.getByTestId('balance'), '379.50 ₽', 10_000);
  await shot(page, '01-live-order-paid');
  assert.is(await page.getByTestId('toasts').getAttribute('role'), 'status');
  assert.is(await page.getByTestId('toasts').getAttribute('aria-live'), 'polite');
  assert.equal(listRequests.slice(listedBefore), [], 'the page never asked for the list: the feed told it');
});

live('a CANCELLED order shows its reason in the row and in a toast that can be dismissed', async () => {
  const listedBefore = listRequests.length;
  await placeOrder(page, '1000', 'a sofa');
  await waitFor('the sofa to be CANCELLED in the UI', async () => (await statusOf(page, 'a sofa')) === 'CANCELLED');
  await waitForText(orderRow(page, 'a sofa').getByTestId('cancel-reason'), 'Not enough money in the wallet');
  const toast = toastAbout(page, 'a sofa');
  await waitForText(toastMessage(page, 'a sofa'), "Order 'a sofa' cancelled: not enough money");
  await shot(page, '02-live-order-cancelled');
  await toast.getByRole('button', { name: 'Dismiss' }).click();
  await waitFor('the toast to be gone', async () => (await toast.count()) === 0);
  await waitForText(page.getByTestId('balance'), '379.50 ₽');
  assert.equal(listRequests.slice(listedBefore), [], 'no polling for this one either');

  const listed = (await gateway.listOrders(USER)).json.orders;
  assert.equal(listed.map((o) => `${o.description}:${o.status}:${o.cancel_reason}`).sort(), [
    'a lamp:FINISHED:null',
    'a sofa:CANCELLED:INSUFFICIENT_FUNDS',
  ]);
});

live('with the feed blocked the page says it polls, and polls until the order is final', async () => {
  const blocked = await context.newPage();
  collectPageErrors(blocked, pageErrors);
  await blocked.route('**/orders/events/**', (route) => route.abort('connectionrefused'));
  const polled: string[] = [];
  blocked.on('request', (request) => {
    if (request.url().includes(`/orders/orders/${USER}`)) polled.push(request.url());
  });
  await blocked.goto(UI);
  await waitForText(blocked.getByTestId('current-user'), USER);
  await waitForText(blocked.getByTestId('live-indicator'), 'Updating every 0.5 s');
  const listedBefore = polled.length;
  await placeOrder(blocked, '20', 'a kettle');
  await waitFor(
    'the kettle to be FINISHED in the UI',
    async () => (await statusOf(blocked, 'a kettle')) === 'FINISHED',
  );
  await waitForText(toastMessage(blocked, 'a kettle'), "Order 'a kettle' paid — 20.00 ₽");
  await waitForText(blocked.getByTestId('balance'), '359.50 ₽', 10_000);
  await shot(blocked, '03-feed-blocked-polling');
  assert.ok(polled.length > listedBefore, 'the order was watched by polling the list');
  await blocked.close();
});

live('no script errors on any page', () => {
  assert.equal(pageErrors, []);
});

live.run();
