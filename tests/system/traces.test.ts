import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { gateway, readEventStream, startStack, waitFor, type Stack } from '@gozon/testkit';

// One order is one trace across the six hops it crosses, each span a child of
// the one before: orders-api's request, orders-relay's publish of the payment
// request, payments-worker's inbox apply (the debit) and its publish of the
// result, orders-relay's apply (the status change), and the push of the new
// status to the user's open stream by the orders-api replica holding it. The
// stack exports by OTLP/HTTP (JSON) to a collector this test runs.

interface ExportedSpan {
  service: string;
  /** service.instance.id: which replica made it. */
  instance: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
}

interface OtlpJson {
  resourceSpans?: Array<{
    resource?: { attributes?: Array<{ key: string; value: { stringValue?: string } }> };
    scopeSpans?: Array<{ spans?: Array<{ traceId: string; spanId: string; parentSpanId?: string; name: string }> }>;
  }>;
}

const traces = suite('one order, one trace, from the request to the status change');
const spans: ExportedSpan[] = [];
let collector: Server;
let stack: Stack;

traces.before(async () => {
  collector = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const exported = JSON.parse(body) as OtlpJson;
      for (const resource of exported.resourceSpans ?? []) {
        const attribute = (key: string) =>
          resource.resource?.attributes?.find((a) => a.key === key)?.value.stringValue ?? '';
        const service = attribute('service.name');
        const instance = attribute('service.instance.id');
        for (const scope of resource.scopeSpans ?? [])
          for (const span of scope.spans ?? [])
            spans.push({
              service,
              instance,
              traceId: span.traceId,
              spanId: span.spanId,
              parentSpanId: span.parentSpanId ?? '',
              name: span.name,
            });
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  const { port } = collector.address() as AddressInfo;
  stack = await startStack('traces', {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
    OTEL_BSP_SCHEDULE_DELAY: '100',
    // Every order is "slow": its settle line names its trace.
    SLOW_ORDER_MS: '1',
  });
});

traces.after(async () => {
  await stack?.stop();
  await new Promise((resolve) => collector.close(resolve));
});

traces('the six hops of a paid order are one chain of spans, each the child of the one before', async () => {
  const wallet = await gateway.openWallet('traced-payer');
  await gateway.topUp(wallet.json.bill_id, 100);
  const traceId = randomBytes(16).toString('hex');
  const clientSpan = randomBytes(8).toString('hex');
  const pushed: string[] = [];
  const stop = new AbortController();
  let opened = false;
  const reading = readEventStream(`${gateway.base}/orders/events/traced-payer`, {
    signal: stop.signal,
    onOpen: () => (opened = true),
    onEvent: (event) => {
      if (event.event === 'order') pushed.push(event.data);
    },
  });
  try {
    await waitFor('the stream to open', async () => opened);
    const placed = await gateway.placeOrder(
      'traced-payer',
      { amount: 10, description: 'a traced lamp' },
      { headers: { traceparent: `00-${traceId}-${clientSpan}-01` } },
    );
    assert.is(placed.status, 201);
    await waitFor('the FINISHED order pushed', async () =>
      pushed.some((data) => data.includes(placed.json.order_id) && data.includes('"FINISHED"')),
    );
  } finally {
    stop.abort();
    await reading;
  }
  const chain = [
    { service: 'orders-api', name: 'POST /orders/create/:user_id' },
    { service: 'orders-relay', name: 'publish payment.requested' },
    { service: 'payments-worker', name: 'apply payment.requested' },
    { service: 'payments-worker', name: 'publish payment.succeeded' },
    { service: 'orders-relay', name: 'apply payment.succeeded' },
    { service: 'orders-api', name: 'push order status' },
  ];
  const found = await waitFor('every hop exported', async () => {
    const ofTrace = spans.filter((span) => span.traceId === traceId);
    const hops = chain.map((hop) => ofTrace.find((span) => span.service === hop.service && span.name === hop.name));
    return hops.every(Boolean) ? (hops as ExportedSpan[]) : undefined;
  });
  assert.is(found[0]!.parentSpanId, clientSpan, 'the request is a child of the client’s traceparent');
  for (let i = 1; i < found.length; i += 1)
    assert.is(found[i]!.parentSpanId, found[i - 1]!.spanId, `${chain[i]!.name} is a child of ${chain[i - 1]!.name}`);
  // Each span names the replica that made it (host:pid): at least three processes made them.
  for (const span of found) assert.match(span.instance, /^.+:\d+$/, span.name);
  assert.ok(new Set(found.map((span) => span.instance)).size >= 3);
});

traces('a slow order’s log line leads to its trace', async () => {
  const wallet = await gateway.openWallet('slow-payer');
  await gateway.topUp(wallet.json.bill_id, 100);
  const placed = await gateway.placeOrder('slow-payer', { amount: 10, description: 'a slow lamp' });
  assert.is(placed.status, 201);
  const line = await waitFor('orders-relay to log the order as slow', async () =>
    stack.events('order.settled_slowly').find((event) => event.order_id === placed.json.order_id),
  );
  assert.ok(Number(line.settle_ms) >= 1, JSON.stringify(line));
  assert.is(line.trace_sampled, true, 'every trace is kept at the default ratio of 1');
  const traceSpans = await waitFor('the trace exported', async () => {
    const ofTrace = spans.filter((span) => span.traceId === line.trace_id);
    return ofTrace.length >= 5 ? ofTrace : undefined;
  });
  assert.ok(
    traceSpans.some((span) => span.service === 'orders-api' && span.name === 'POST /orders/create/:user_id'),
    'the trace starts at the order’s request',
  );
});

traces.run();
