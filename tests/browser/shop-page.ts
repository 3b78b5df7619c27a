// What the browser tests of the shop share: where the UI and Chromium are, and
// the steps a person takes (pick a name, top up, place an order) and reads
// (a status, a line of text), written once.
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { launchChromium, startStack, waitFor, type Stack } from '@gozon/testkit';

export { launchChromium };

export const ROOT = resolve(import.meta.dirname, '../..');
export const UI = (process.env.TEST_UI_URL ?? 'http://localhost:3000').replace(/\/+$/, '');

export const DESKTOP = { width: 1280, height: 900 };

export interface ShopSession {
  stack: Stack;
  browser: Browser;
  /** a desktop-sized context, en-GB */
  desktop: BrowserContext;
  page: Page;
}

/**
 * Puts in `errors` what went wrong on `page` that a person would not see: uncaught script errors, and
 * anything the page's Content-Security-Policy refused (Chromium says so on the console).
 */
export function collectPageErrors(page: Page, errors: string[]): void {
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) errors.push(message.text());
  });
}

/**
 * A test file's own stack (startStack(label), with the gateway's default budgets), Chromium and one desktop page whose
 * script errors go to pageErrors; artifacts, the screenshot folder, starts empty.
 */
export async function startShop(label: string, artifacts: string, pageErrors: string[]): Promise<ShopSession> {
  rmSync(artifacts, { recursive: true, force: true });
  mkdirSync(artifacts, { recursive: true });
  // The gateway's budgets a person gets: the UI (its burst of orders too) must stay within them.
  const stack = await startStack(label, {}, { gatewayBudgets: 'defaults' });
  let browser: Browser | undefined;
  try {
    browser = await launchChromium();
    const desktop = await browser.newContext({ viewport: DESKTOP, locale: 'en-GB' });
    const page = await desktop.newPage();
    collectPageErrors(page, pageErrors);
    return { stack, browser, desktop, page };
  } catch (error) {
    // The after hook never sees what was not returned: stop it here, or the run hangs.
    await browser?.close();
    await stack.stop();
    throw error;
  }
}

/** Text as a person reads it: every run of spaces (no-break ones too) as one space. */
export const plain = (text: string | null) => (text ?? '').replace(/\s+/g, ' ').trim();

export async function textOf(locator: Locator) {
  return plain(await locator.textContent());
}

/** Waits until locator reads expected (the whole text, or a match), up to timeoutMs; returns the text. */
export async function waitForText(locator: Locator, expected: RegExp | string, timeoutMs = 15_000) {
  return waitFor(
    `${locator.toString()} to read ${expected}`,
    async () => {
      const text = await textOf(locator);
      const ok = typeof expected === 'string' ? text === expected : expected.test(text);
      return ok ? text : undefined;
    },
    timeoutMs,
  );
}

/** A screenshot as <dir>/<name>.png: the full page from the top, or the viewport. */
export async function shot(target: Page, dir: string, name: string, fullPage = true) {
  // A full page from the top, so the sticky orders card sits where it starts.
  if (fullPage) await target.evaluate('window.scrollTo(0, 0)');
  await target.screenshot({ path: join(dir, `${name}.png`), fullPage, animations: 'disabled' });
}

export function orderRow(target: Page, description: string) {
  return target.locator('[data-order-id]').filter({ hasText: description });
}

export async function statusOf(target: Page, description: string) {
  return orderRow(target, description).first().getAttribute('data-status');
}

export async function chooseUser(target: Page, userId: string) {
  const field = target.getByLabel(/^(User name|Switch to another user)$/);
  await field.fill(userId);
  await field.press('Enter');
  await waitForText(target.getByTestId('current-user'), userId);
}

export async function topUp(target: Page, amount: string) {
  await target.getByLabel('Top up', { exact: true }).fill(amount);
  await target.getByRole('button', { name: 'Add money' }).click();
}

export async function placeOrder(target: Page, amount: string, description: string) {
  await target.getByLabel('Amount', { exact: true }).fill(amount);
  await target.getByLabel('Description').fill(description);
  await target.getByRole('button', { name: 'Place order' }).click();
}
