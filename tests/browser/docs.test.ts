import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { parse } from 'yaml';
import { gateway, startStack, type Stack } from '@gozon/testkit';
import { collectPageErrors } from './shop-page.ts';

// The contract served for people: /docs renders /openapi.yaml in a real browser.

const ARTIFACTS = join(import.meta.dirname, '../../test-artifacts/browser');
const docs = suite('the API docs page');

let stack: Stack;
let browser: Browser;

docs.before(async () => {
  stack = await startStack('docs', {}, { gatewayBudgets: 'defaults' });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});

docs.after(async () => {
  await browser.close();
  assert.is(await stack.stop(), 0);
});

docs('the gateway serves the spec as YAML', async () => {
  const response = await gateway.request('GET', '/openapi.yaml');
  assert.is(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^application\/yaml/);
  const spec = parse(response.text) as { openapi: string; paths: Record<string, unknown> };
  assert.match(spec.openapi, /^3\.1/);
  assert.ok(spec.paths['/orders/create/{user_id}']);
});

docs('/docs forbids scripts from elsewhere and inline, says no nginx version, and sniffs no types', async () => {
  const page = await gateway.request('GET', '/docs');
  const policy = page.headers.get('content-security-policy') ?? '';
  assert.match(policy, /script-src 'self';/);
  assert.match(policy, /frame-ancestors 'none'/);
  assert.not.match(policy, /script-src[^;]*unsafe-inline/);
  assert.is(page.headers.get('x-content-type-options'), 'nosniff');
  assert.is(page.headers.get('server'), 'nginx');
  const answer = await gateway.request('GET', '/orders/status/not-an-id');
  assert.is(answer.headers.get('x-content-type-options'), 'nosniff');
  assert.is(answer.headers.get('content-security-policy'), null, 'JSON needs no policy');
});

docs('/docs shows every operation of the spec', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  collectPageErrors(page, errors);
  await page.goto(`${gateway.base}/docs`);
  await page.locator('.opblock').first().waitFor({ timeout: 15_000 });
  const spec = parse((await gateway.request('GET', '/openapi.yaml')).text) as {
    paths: Record<string, Record<string, unknown>>;
  };
  const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
  const operations = Object.values(spec.paths).flatMap((item) => Object.keys(item).filter((k) => methods.includes(k)));
  assert.is(await page.locator('.opblock').count(), operations.length);
  assert.match(await page.locator('.info .title').innerText(), /Gozon/);
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, '20-api-docs.png') });
  assert.equal(errors, []);
  await page.close();
});

docs.run();
