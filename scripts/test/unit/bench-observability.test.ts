import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readConfig, startSpan, startTracing, tracingSettings } from '@gozon/platform';
import { readDashboard } from '@gozon/testkit';
import { renderDashboard } from '../../bench/dashboard.ts';
import { SCRAPE_SECONDS, startSpanSink } from '../../bench/observability.ts';

// What the benchmark's observed rounds rest on: the collector counts exactly the
// spans the services' OTLP exporter sends, and the dashboard rendered without
// Grafana asks Prometheus every query of gozon.json as Grafana would and draws
// every panel with its legend.

const bench = suite('the benchmark’s observability rounds');

bench('the span collector counts every span the OpenTelemetry exporter sends it', async () => {
  const sink = await startSpanSink();
  try {
    const flush = await startTracing(
      'bench-test',
      readConfig(tracingSettings, { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_BSP_SCHEDULE_DELAY: '10' }),
      (error) => assert.unreachable(String(error)),
    );
    const parent = startSpan('POST /orders/create/:user_id', 'server', null);
    for (let i = 0; i < 4; i++) startSpan('publish payment.requested', 'producer', parent?.traceparent)?.end();
    parent?.end();
    await flush?.();
    assert.equal(sink.received().spans, 5);
    assert.ok(sink.received().requests >= 1);
  } finally {
    await sink.close();
  }
});

bench('the dashboard asks every query as Grafana would and draws every panel', async () => {
  const asked: string[] = [];
  // Prometheus's range-query answer (https://prometheus.io/docs/prometheus/latest/querying/api/#range-queries): two series each.
  const prometheus: Server = createServer((request, response) => {
    const query = new URL(request.url!, 'http://x').searchParams;
    asked.push(query.get('query')!);
    const start = Number(query.get('start'));
    const series = ['orders-api', 'orders-relay'].map((service, i) => ({
      metric: { service, outcome: 'finished', instance: `127.0.0.1:900${i}` },
      // Every 3 s (the step of a 600 s window), then a gap: a line, then a lone point.
      values: [0, 3, 6, 30].map((t) => [start + t, String(0.25 * (i + 1))]),
    }));
    response
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: series } }));
  });
  await new Promise<void>((resolve) => prometheus.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = prometheus.address() as AddressInfo;
    const html = await renderDashboard(
      `http://127.0.0.1:${port}`,
      { start: 1_700_000_000, end: 1_700_000_600, marks: [{ name: 'max', from: 1_700_000_000, to: 1_700_000_060 }] },
      'a test',
    );
    const { panels } = readDashboard();
    assert.is(asked.length, panels.flatMap((panel) => panel.targets).length);
    for (const query of asked) assert.not.match(query, '$__');
    // A step of 3 s over 600 s: Grafana's $__rate_interval is max(step + scrape, 4 × scrape).
    assert.ok(asked.some((query) => query.includes(`[${Math.max(3 + SCRAPE_SECONDS, 4 * SCRAPE_SECONDS)}s]`)));
    for (const panel of panels) assert.ok(html.includes(panel.title.replace(/&/g, '&amp;')), panel.title);
    assert.ok(html.includes('settled finished'), 'the legend format filled from the labels');
    assert.ok(html.includes('oldest unsent, orders-relay'));
    assert.ok(html.includes('250 ms'), 'seconds shown in the panel’s unit');
    assert.ok(html.includes('<polyline') && html.includes('<circle'), 'a gap breaks the line, as in Grafana');
  } finally {
    await new Promise<void>((resolve) => prometheus.close(() => resolve()));
  }
});

bench.run();
