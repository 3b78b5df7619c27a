// What the benchmark's observed run watches the stack with, as an operator
// would: Debian's Prometheus scraping every replica with the repository's
// configuration (its targets replaced by the stack's), and a collector that
// takes the spans the services export by OTLP/HTTP. The collector stands in
// for Jaeger (no image of it runs here): it counts the spans and keeps
// nothing, so what the run measures is what exporting costs the services.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { REPO_ROOT, freePort, launch } from '@gozon/testkit';

const NATIVE_CONFIG = join(REPO_ROOT, 'observability/prometheus/native.yml');

interface PrometheusConfig {
  global: { scrape_interval: string };
  scrape_configs: Array<{ static_configs: Array<{ targets: string[] }> }>;
}

const readNativeConfig = () => parse(readFileSync(NATIVE_CONFIG, 'utf8')) as PrometheusConfig;

/** How often Prometheus scrapes, in seconds: native.yml's global scrape_interval (Prometheus's default, 1m, when it is not in seconds). */
export const SCRAPE_SECONDS = Number(/^(\d+)s$/.exec(readNativeConfig().global.scrape_interval)?.[1] ?? 60);

/** A running span collector: its base URL (for OTEL_EXPORTER_OTLP_ENDPOINT), the spans and export requests it took. */
export interface SpanSink {
  url: string;
  received(): { spans: number; requests: number };
  close(): Promise<void>;
}

/**
 * An OTLP/HTTP collector on a free port of 127.0.0.1 that answers every
 * POST /v1/traces with 200 and counts the spans in it: the `"spanId"` keys of
 * the JSON @opentelemetry/exporter-trace-otlp-http sends (one per span; Gozon's
 * spans have no links). Counted, not parsed: it shares its event loop with the
 * load generator, which must not wait on it.
 */
export async function startSpanSink(): Promise<SpanSink> {
  let spans = 0;
  let requests = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      requests += 1;
      spans += Buffer.concat(chunks).toString().split('"spanId":').length - 1;
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received: () => ({ spans, requests }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A running Prometheus: its base URL and how to stop it (its storage goes with it). */
export interface RunningPrometheus {
  url: string;
  stop(): Promise<void>;
}

/**
 * Debian's `prometheus` on a free port of 127.0.0.1, with
 * observability/prometheus/native.yml (its scrape interval, job and labels) and
 * the given /metrics addresses as its only targets. Resolves once it answers
 * /-/ready; throws when the binary is missing or does not get ready in 30 s.
 */
export async function startPrometheus(metricsUrls: string[]): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'gozon-bench-prometheus-'));
  const config = readNativeConfig();
  config.scrape_configs[0]!.static_configs = [{ targets: metricsUrls.map((address) => new URL(address).host) }];
  writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = await launch({
    name: 'prometheus',
    command: [
      'prometheus',
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    readyUrl: `${url}/-/ready`,
    timeoutMs: 30_000,
  }).catch((error: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  });
  return {
    url,
    async stop() {
      try {
        await server.stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
