import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  REPO_ROOT,
  freePort,
  gateway,
  launch,
  startStack,
  waitFor,
  type LaunchedProcess,
  type Stack,
} from '@gozon/testkit';

// The repository's Prometheus configuration, the services' /metrics and the metric
// names proven together: Debian's Prometheus scrapes the native stack with
// observability/prometheus/native.yml, and a rate and a latency quantile come
// back from its HTTP API while orders flow.

const CONFIG = join(REPO_ROOT, 'observability/prometheus/native.yml');
const LOAD_SECONDS = 20;
const ORDERS_PER_SECOND = 10;

const prometheus = suite('Prometheus scrapes the native stack with the repository’s configuration');
let stack: Stack;
let server: LaunchedProcess;
let api: string;
const storage = mkdtempSync(join(tmpdir(), 'gozon-prometheus-'));

function promtool(args: string[], input?: string) {
  const run = spawnSync('promtool', args, { input, encoding: 'utf8', timeout: 30_000 });
  return { code: run.status, output: `${run.stdout}${run.stderr}` };
}

/** An instant query through Prometheus's HTTP API: the one value of its one series, or undefined. */
async function query(expression: string): Promise<number | undefined> {
  const response = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(expression)}`, {
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await response.json()) as { status: string; data: { result: Array<{ value: [number, string] }> } };
  assert.is(body.status, 'success', expression);
  const [series] = body.data.result;
  return series === undefined ? undefined : Number(series.value[1]);
}

prometheus.before(async () => {
  stack = await startStack('prometheus');
  const port = await freePort();
  api = `http://127.0.0.1:${port}`;
  server = await launch({
    name: 'prometheus',
    command: [
      'prometheus',
      `--config.file=${CONFIG}`,
      `--storage.tsdb.path=${storage}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    env: {},
    readyUrl: `${api}/-/ready`,
    timeoutMs: 30_000,
  });
});

prometheus.after(async () => {
  await server?.stop();
  await stack?.stop();
  rmSync(storage, { recursive: true, force: true });
});

prometheus('promtool finds the configuration valid and every target’s exposition clean', async () => {
  const config = promtool(['check', 'config', CONFIG]);
  assert.is(config.code, 0, config.output);
  for (const url of await stack.metricsUrls()) {
    const exposition = await (await fetch(url, { signal: AbortSignal.timeout(10_000) })).text();
    const lint = promtool(['check', 'metrics'], exposition);
    // 1 would be a parse error; 3 lists naming problems, which ours must not have. prom-client's
    // defaults include three gauges whose names end in _total (nodejs_active_handles_total, …).
    assert.ok(lint.code === 0 || lint.code === 3, `${url}: ${lint.output}`);
    const problems = lint.output
      .split('\n')
      .filter(Boolean)
      .filter((line) => !/^nodejs_active_(handles|requests|resources)_total /.test(line));
    assert.equal(problems, [], url);
  }
});

prometheus('every replica is up, and a rate and a latency quantile come back while orders flow', async () => {
  await waitFor(
    'Prometheus to scrape all eight replicas',
    async () => (await query('sum(up{job="gozon"})')) === 8,
    30_000,
  );
  const wallet = await gateway.openWallet('prometheus-payer');
  await gateway.topUp(wallet.json.bill_id, 100_000);
  for (let second = 0; second < LOAD_SECONDS; second += 1) {
    await Promise.all(
      Array.from({ length: ORDERS_PER_SECOND }, () =>
        gateway.placeOrder('prometheus-payer', { amount: 1, description: 'watched' }),
      ),
    );
    await sleep(1000);
  }
  const placedPerSecond = await query('sum(rate(gozon_orders_placed_total[30s]))');
  assert.ok(placedPerSecond !== undefined && placedPerSecond > 0, `orders placed per second: ${placedPerSecond}`);
  const settledPerSecond = await query('sum by (outcome) (rate(gozon_orders_settled_total{outcome="finished"}[30s]))');
  assert.ok(settledPerSecond !== undefined && settledPerSecond > 0, `orders settled per second: ${settledPerSecond}`);
  const p99 = await query('histogram_quantile(0.99, sum by (le) (rate(gozon_order_settle_seconds_bucket[30s])))');
  assert.ok(p99 !== undefined && Number.isFinite(p99) && p99 > 0, `settle p99: ${p99} s`);
  const lag = await query('max(gozon_outbox_oldest_unsent_age_seconds{service="orders-relay"})');
  assert.ok(lag !== undefined && lag >= 0, `outbox lag: ${lag} s`);
});

prometheus.run();
