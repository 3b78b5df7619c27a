import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { PAYMENT_SUCCEEDED, exchangeName } from '@gozon/contracts';
import { newId } from '@gozon/platform';
import {
  GATEWAY,
  REPO_ROOT,
  gateway,
  scrapeMetrics,
  startStack,
  waitFor,
  withChannel,
  withDb,
  type Scrape,
  type Stack,
} from '@gozon/testkit';

// Every deployable's /metrics, scraped as Prometheus would: after N orders through
// the stack the counters moved by exactly N, the outbox backlog is back to 0, a
// duplicate delivered to an inbox counts once as a duplicate, and the gateway
// keeps /metrics to itself.

const metrics = suite('metrics of every replica, after orders through the stack');
let stack: Stack;

const PAID = 12;
const REFUSED = 4;

const scrape = async () => scrapeMetrics(await stack.metricsUrls());

metrics.before(async () => {
  stack = await startStack('metrics');
});

metrics.after(async () => {
  await stack.stop();
});

/** GET `path` from the gateway exactly as written: fetch would resolve its dot segments first. */
function statusOfRaw(path: string): Promise<number | undefined> {
  const gatewayUrl = new URL(GATEWAY);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: gatewayUrl.hostname, port: gatewayUrl.port, path, timeout: 10_000 },
      (response) => {
        response.resume();
        resolve(response.statusCode);
      },
    );
    request.on('error', reject);
    request.end();
  });
}

/** What moved between two scrapes. */
const moved = (before: Scrape, after: Scrape, name: string, labels?: Record<string, string>) =>
  after.sum(name, labels) - before.sum(name, labels);

metrics('every API replica and worker answers /metrics in the text format; the gateway does not', async () => {
  const urls = await stack.metricsUrls();
  assert.is(urls.length, 8, `2 of each API and of each worker: ${urls.join(', ')}`);
  const { families, samples } = await scrape();
  const services = new Set(samples.map((sample) => sample.labels.service));
  assert.equal([...services].sort(), ['orders-api', 'orders-relay', 'payments-api', 'payments-worker']);
  for (const name of ['process_cpu_seconds_total', 'nodejs_eventloop_lag_seconds', 'gozon_db_pool_connections'])
    assert.ok(families.has(name), name);
  for (const path of [
    '/metrics',
    '/orders/metrics',
    '/payments/metrics',
    // Encoded dot segments, with and without an encoded slash in the path or the query.
    '/orders/%2e%2e/metrics',
    '/orders/%2e%2e/metrics?x=%2f',
    '/payments/%2E%2E/metrics?%2F',
    '/orders/%2e%2e%2fmetrics',
    '/orders/..%2fmetrics',
  ])
    assert.is(await statusOfRaw(path), 404, path);
});

metrics(`${PAID + REFUSED} orders move placed and settled by exactly that, by outcome and reason`, async () => {
  const before = await scrape();
  const wallet = await gateway.openWallet('metrics-payer');
  await gateway.topUp(wallet.json.bill_id, 10_000);
  const placed = [
    ...(await Promise.all(
      Array.from({ length: PAID }, (_, i) =>
        gateway.placeOrder('metrics-payer', { amount: 10, description: `paid ${i}` }),
      ),
    )),
    ...(await Promise.all(
      Array.from({ length: REFUSED }, (_, i) =>
        gateway.placeOrder('metrics-nobody', { amount: 10, description: `refused ${i}` }),
      ),
    )),
  ];
  assert.ok(placed.every((p) => p.status === 201));
  for (const { json } of placed)
    await waitFor(
      `order ${json.order_id} settled`,
      async () => (await gateway.orderStatus(json.order_id)).json?.status !== 'NEW',
    );
  const after = await waitFor('every settle counted', async () => {
    const now = await scrape();
    return moved(before, now, 'gozon_orders_settled_total') === PAID + REFUSED ? now : undefined;
  });

  assert.is(moved(before, after, 'gozon_orders_placed_total'), PAID + REFUSED);
  assert.is(moved(before, after, 'gozon_orders_settled_total', { outcome: 'finished', reason: '' }), PAID);
  assert.is(
    moved(before, after, 'gozon_orders_settled_total', { outcome: 'cancelled', reason: 'NO_ACCOUNT' }),
    REFUSED,
  );
  assert.is(after.count('gozon_order_settle_seconds') - before.count('gozon_order_settle_seconds'), PAID + REFUSED);
  assert.is(
    after.count('http_request_duration_seconds', { route: '/orders/create/:user_id', status: '201' }) -
      before.count('http_request_duration_seconds', { route: '/orders/create/:user_id', status: '201' }),
    PAID + REFUSED,
  );
  assert.is(moved(before, after, 'gozon_outbox_published_total', { service: 'orders-relay' }), PAID + REFUSED);
  assert.is(moved(before, after, 'gozon_outbox_published_total', { service: 'payments-worker' }), PAID + REFUSED);
  assert.is(moved(before, after, 'gozon_inbox_applied_total', { service: 'payments-worker' }), PAID + REFUSED);
  assert.is(moved(before, after, 'gozon_inbox_applied_total', { service: 'orders-relay' }), PAID + REFUSED);
  assert.is(after.sum('gozon_broker_connected'), 4, 'each worker has its broker session');
  await waitFor('both outboxes drained', async () => {
    const now = await scrape();
    return now.sum('gozon_outbox_unsent') === 0 && now.sum('gozon_outbox_oldest_unsent_age_seconds') === 0;
  });
});

metrics('every metric the Gozon dashboard queries of the services is one they expose', async () => {
  const dashboard = JSON.parse(
    readFileSync(join(REPO_ROOT, 'observability/grafana/dashboards/gozon.json'), 'utf8'),
  ) as { panels: Array<{ targets: Array<{ expr: string }> }> };
  const queried = new Set(
    dashboard.panels
      .flatMap((panel) => panel.targets.map((target) => target.expr))
      .flatMap((expr) => [...expr.matchAll(/\b((?:gozon|http|process|nodejs)_[a-z0-9_]+)/g)].map((m) => m[1]!))
      .map((name) => name.replace(/_(bucket|count|sum)$/, '')),
  );
  const exposed = (await scrape()).families;
  for (const name of queried)
    assert.ok(exposed.has(name), `${name} is queried by the dashboard but exposed by no replica`);
});

metrics('a duplicate delivered to an inbox moves the duplicates counter by one, and nothing else', async () => {
  const [ordersDb] = stack.databases;
  const applied = await withDb(ordersDb!, async (client) => {
    const { rows } = await client.query<{ message_id: string }>(
      `select message_id from inbox_message where type = $1 limit 1`,
      [PAYMENT_SUCCEEDED],
    );
    return rows[0]!.message_id;
  });
  const before = await scrape();
  await withChannel(async (channel) => {
    const body = JSON.stringify({ message_id: applied, order_id: newId(), occurred_at: new Date().toISOString() });
    channel.publish(exchangeName(stack.namespace), PAYMENT_SUCCEEDED, Buffer.from(body), {
      persistent: true,
      messageId: applied,
    });
    await channel.waitForConfirms();
  });
  const after = await waitFor('the duplicate counted', async () => {
    const now = await scrape();
    return moved(before, now, 'gozon_inbox_duplicates_total') >= 1 ? now : undefined;
  });
  assert.is(moved(before, after, 'gozon_inbox_duplicates_total', { service: 'orders-relay' }), 1);
  assert.is(moved(before, after, 'gozon_inbox_applied_total'), 0);
  assert.is(moved(before, after, 'gozon_orders_settled_total'), 0);
});

metrics.run();
