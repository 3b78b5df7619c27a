// Debian's Chromium driven by playwright-core, for the browser tests and the
// benchmark's dashboard screenshot: never a browser a tool downloads itself.
import { chromium, type Browser } from 'playwright-core';

/** Where Debian's Chromium is: CHROMIUM_PATH, default /usr/bin/chromium. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Debian's headless Chromium (CHROMIUM_PATH, default /usr/bin/chromium), with any more command-line flags given. */
export function launchChromium(flags: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', ...flags],
  });
}
