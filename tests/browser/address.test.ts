// The shop opened at the address a person types, not only at
// http://localhost:3000: headless Chromium against the whole stack (`npm run
// stack`, default settings). At 127.0.0.1 an order is placed and settles, at
// [::1] a wallet opens (this machine has IPv6); at a
// name the gateway does not allow (shop.example, which Chromium is told is this
// machine) the page says the gateway refused it by CORS, not that it is down.
//   node tests/browser/address.test.ts
// Needs PostgreSQL, RabbitMQ, nginx and Debian's chromium (/usr/bin/chromium).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Browser, Page } from 'playwright-core';
import { gateway, startStack, waitFor, type Stack } from '@gozon/testkit';
import {
  chooseUser,
  collectPageErrors,
  DESKTOP,
  launchChromium,
  orderRow,
  placeOrder,
  ROOT,
  shot,
  statusOf,
  topUp,
  waitForText,
} from './shop-page.ts';

const ARTIFACTS = join(ROOT, 'test-artifacts/browser-address');
const RUN = Date.now().toString(36);
/** A name that is not local and not in CORS_ORIGIN, resolved by this browser alone to this machine. */
const FOREIGN_HOST = 'shop.example';

const address = suite('the shop from the address a person typed');

let stack: Stack | undefined;
let browser: Browser | undefined;
const pageErrors: string[] = [];

/** A fresh page, and the origins of the API calls it makes. */
async function openPage(url: string): Promise<{ page: Page; apiOrigins: Set<string> }> {
  const context = await browser!.newContext({ viewport: DESKTOP, locale: 'en-GB' });
  const page = await context.newPage();
  collectPageErrors(page, pageErrors);
  const apiOrigins = new Set<string>();
  page.on('request', (request) => {
    const target = new URL(request.url());
    if (/^\/(orders|payments)\//.test(target.pathname)) apiOrigins.add(target.origin);
  });
  await page.goto(url);
  return { page, apiOrigins };
}

address.before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  stack = await startStack('address', {}, { gatewayBudgets: 'defaults' });
  browser = await launchChromium([`--host-resolver-rules=MAP ${FOREIGN_HOST} 127.0.0.1`]);
});

address.after(async () => {
  await browser?.close();
  if (stack) assert.is(await stack.stop(), 0, 'the stack stops cleanly');
});

address('opened at http://127.0.0.1:3000, the shop calls the gateway there and an order settles', async () => {
  const user = `numeric-${RUN}`;
  const { page, apiOrigins } = await openPage('http://127.0.0.1:3000');
  await chooseUser(page, user);
  await page.getByRole('button', { name: 'Open wallet' }).click();
  await waitForText(page.getByTestId('balance'), '0.00 ₽');
  await topUp(page, '100');
  await waitForText(page.getByTestId('balance'), '100.00 ₽');
  await placeOrder(page, '25.50', 'a lamp, ordered at 127.0.0.1');
  await waitFor('the order to be FINISHED in the UI', async () => (await statusOf(page, 'a lamp')) === 'FINISHED');
  await waitForText(orderRow(page, 'a lamp').getByTestId('order-status'), 'Finished');
  await waitForText(page.getByTestId('balance'), '74.50 ₽', 10_000);
  await shot(page, ARTIFACTS, 'opened-at-127.0.0.1');

  assert.equal([...apiOrigins], ['http://127.0.0.1:8080'], 'the API on the host the page was opened at');
  const orders = (await gateway.listOrders(user)).json.orders;
  assert.equal(
    orders.map((o) => [o.description, o.status]),
    [['a lamp, ordered at 127.0.0.1', 'FINISHED']],
  );
  await page.context().close();
});

address('opened at http://[::1]:3000, the shop calls the gateway at [::1] and a wallet opens', async () => {
  const { page, apiOrigins } = await openPage('http://[::1]:3000');
  await chooseUser(page, `ipv6-${RUN}`);
  await page.getByRole('button', { name: 'Open wallet' }).click();
  await waitForText(page.getByTestId('balance'), '0.00 ₽');
  assert.equal([...apiOrigins], ['http://[::1]:8080']);
  await page.context().close();
});

address('opened at an address the gateway does not allow, the page says CORS refused it and what to do', async () => {
  const origin = `http://${FOREIGN_HOST}:3000`;
  const { page, apiOrigins } = await openPage(origin);
  await chooseUser(page, `foreign-${RUN}`);
  const refused = new RegExp(
    `^The gateway at http://${FOREIGN_HOST.replace('.', '\\.')}:8080 answers, but does not allow calls from ` +
      `${origin.replace(/\./g, '\\.')} \\(CORS\\)\\. Set the gateway’s CORS_ORIGIN to ${origin.replace(/\./g, '\\.')} and restart it`,
  );
  await waitForText(page.locator('.card-orders [role="alert"]'), refused);
  await page.getByRole('button', { name: 'Open wallet' }).click();
  const walletError = await waitForText(page.locator('.card-wallet [role="alert"]'), refused);
  assert.not.match(walletError, /cannot be reached|not known yet/, 'refused, so nothing was sent: no doubt left');
  await shot(page, ARTIFACTS, 'cors-refused');

  assert.ok(apiOrigins.has(`http://${FOREIGN_HOST}:8080`), 'the API on the host the page was opened at');
  await page.context().close();
});

address('no script errors on any page', () => {
  assert.equal(pageErrors, []);
});

address.run();
