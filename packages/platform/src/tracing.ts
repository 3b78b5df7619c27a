// OpenTelemetry traces (https://opentelemetry.io/docs/languages/js/), off and free
// unless OTEL_EXPORTER_OTLP_ENDPOINT is set: then each process exports its spans by
// OTLP/HTTP. An order is one trace: the W3C traceparent every outbox row and
// message already carries is each hop's parent, and each hop hands on its own
// span's traceparent (docs/ARCHITECTURE.md, "Traces"). Spans are made where the
// hops are (a request, a publish, an inbox apply), with the parent passed
// explicitly rather than through an active context.
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  defaultTextMapGetter,
  type TextMapPropagator,
  type Tracer,
} from '@opentelemetry/api';
import { hostname } from 'node:os';
import pTimeout from 'p-timeout';
import { integer, ratio, url, type Config, type Setting } from './config.ts';

/** The variables OpenTelemetry's SDKs know by these names, as far as Gozon reads them. */
function endpoint(describe: string): Setting<string> {
  const http = url('http://unused', describe, ['http:', 'https:']);
  return { default: '', describe, parse: (raw) => (raw === '' ? '' : http.parse(raw)) };
}

export const tracingSettings = {
  OTEL_EXPORTER_OTLP_ENDPOINT: endpoint(
    'OTLP/HTTP endpoint spans are exported to (/v1/traces is added); empty: no traces',
  ),
  OTEL_TRACES_SAMPLER_ARG: ratio(1, 'share of traces kept, decided by trace id, the same at every hop'),
  OTEL_BSP_SCHEDULE_DELAY: integer(1000, 'most a finished span waits before its batch is exported, in ms', {
    min: 10,
    max: 60000,
  }),
};

let tracer: Tracer | undefined;
let propagator: TextMapPropagator | undefined;

// Most a stopping process waits for its last spans to be exported: an unreachable collector
// must not hold up, nor fail, a shutdown.
const FLUSH_LIMIT_MS = 2000;

/**
 * Starts exporting spans as `service` when OTEL_EXPORTER_OTLP_ENDPOINT is set; the SDK
 * is loaded only then, so a process without it pays nothing. Every span is kept or
 * dropped by its trace id (OTEL_TRACES_SAMPLER_ARG), also where the parent is remote:
 * every hop reads its parent from a traceparent, and a client's flag must not decide
 * what is kept; the ratio gives each hop of a trace the same answer. Answers what
 * flushes and stops it (within 2 s, a failure told to `onFlushFailed`), or undefined
 * when off.
 */
export async function startTracing(
  service: string,
  config: Config<typeof tracingSettings>,
  onFlushFailed: (error: unknown) => void,
): Promise<(() => Promise<void>) | undefined> {
  if (!config.OTEL_EXPORTER_OTLP_ENDPOINT) return undefined;
  const [{ W3CTraceContextPropagator }, { OTLPTraceExporter }, { resourceFromAttributes }, sdk] = await Promise.all([
    import('@opentelemetry/core'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/sdk-trace'),
  ]);
  const byTraceId = new sdk.TraceIdRatioBasedSampler(config.OTEL_TRACES_SAMPLER_ARG);
  const provider = new sdk.TracerProvider({
    // Which replica made a span: the host (a container's id in compose) and the process
    // (https://opentelemetry.io/docs/specs/semconv/resource/#service).
    resource: resourceFromAttributes({
      'service.name': service,
      'service.instance.id': `${hostname()}:${process.pid}`,
    }),
    sampler: new sdk.ParentBasedSampler({
      root: byTraceId,
      remoteParentSampled: byTraceId,
      remoteParentNotSampled: byTraceId,
    }),
    spanProcessors: [
      new sdk.BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url: `${config.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/$/, '')}/v1/traces` }),
        scheduledDelayMillis: config.OTEL_BSP_SCHEDULE_DELAY,
      }),
    ],
  });
  propagator = new W3CTraceContextPropagator();
  tracer = provider.getTracer('gozon');
  return () => pTimeout(provider.shutdown(), { milliseconds: FLUSH_LIMIT_MS }).catch(onFlushFailed);
}

/** A span being timed: its own traceparent, to hand on to what it causes. */
export interface OpenSpan {
  traceparent: string;
  traceId: string;
  rename(name: string): void;
  /** Ends it; with an error, marked failed. */
  end(error?: unknown): void;
}

const KINDS = { server: SpanKind.SERVER, producer: SpanKind.PRODUCER, consumer: SpanKind.CONSUMER } as const;

/**
 * Starts a span `name` as a child of `traceparent` (W3C), or of nothing when it is
 * null or malformed. Undefined when tracing is off: the caller hands on what it had.
 */
export function startSpan(
  name: string,
  kind: keyof typeof KINDS,
  traceparent: string | null | undefined,
): OpenSpan | undefined {
  if (!tracer || !propagator) return undefined;
  const parent = traceparent ? propagator.extract(ROOT_CONTEXT, { traceparent }, defaultTextMapGetter) : ROOT_CONTEXT;
  const span = tracer.startSpan(name, { kind: KINDS[kind] }, parent);
  const { traceId, spanId, traceFlags } = span.spanContext();
  return {
    traceparent: `00-${traceId}-${spanId}-${traceFlags.toString(16).padStart(2, '0')}`,
    traceId,
    rename: (newName) => span.updateName(newName),
    end(error) {
      if (error !== undefined) {
        span.recordException(error instanceof Error ? error : { message: JSON.stringify(error) });
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    },
  };
}

/**
 * Whether a traceparent's trace was kept (its flags' sampled bit, W3C Trace
 * Context): with OTEL_TRACES_SAMPLER_ARG below 1, only those traces reach the
 * backend. Undefined when it names no trace.
 */
export function traceSampledOf(traceparent: string | null | undefined): boolean | undefined {
  const flags = traceparent ? /^[\da-f]{2}-[\da-f]{32}-[\da-f]{16}-([\da-f]{2})$/.exec(traceparent)?.[1] : undefined;
  return flags === undefined ? undefined : (parseInt(flags, 16) & 1) === 1;
}

/** The trace id a traceparent names, for log lines; undefined when it names none. */
export function traceIdOf(traceparent: string | null | undefined): string | undefined {
  return traceparent ? /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/.exec(traceparent)?.[1] : undefined;
}
