// What a person does and reads on the shop's page, for the browser tests.
import type { Locator, Page } from 'playwright-core';
import { waitFor } from '@gozon/testkit';

/** Text as a person reads it: every run of spaces (no-break ones too) as one space. */
export const plain = (text: string | null) => (text ?? '').replace(/\s+/g, ' ').trim();

/** The locator's text as a person reads it. */
export async function textOf(locator: Locator) {
  return plain(await locator.textContent());
}

/** Waits until the locator reads expected (the whole text, or a match), answering what it read. */
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

/** The rows of Your orders whose text includes description. */
export function orderRow(target: Page, description: string) {
  return target.locator('[data-order-id]').filter({ hasText: description });
}

/** The status (NEW, FINISHED, CANCELLED) of the first order row with description. */
export async function statusOf(target: Page, description: string) {
  return orderRow(target, description).first().getAttribute('data-status');
}

/** Types a user name and presses Enter, until the page says it is that user's. */
export async function chooseUser(target: Page, userId: string) {
  const field = target.getByLabel(/^(User name|Switch to another user)$/);
  await field.fill(userId);
  await field.press('Enter');
  await waitForText(target.getByTestId('current-user'), userId);
}

/** Fills Top up with amount (as typed, e.g. "500.50") and clicks Add money. */
export async function topUp(target: Page, amount: string) {
  await target.getByLabel('Top up', { exact: true }).fill(amount);
  await target.getByRole('button', { name: 'Add money' }).click();
}

/** Fills the order form and clicks Place order. */
export async function placeOrder(target: Page, amount: string, description: string) {
  await target.getByLabel('Amount', { exact: true }).fill(amount);
  await target.getByLabel('Description').fill(description);
  await target.getByRole('button', { name: 'Place order' }).click();
}
