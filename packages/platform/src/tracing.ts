// OpenTelemetry traces (https://opentelemetry.io/docs/languages/js/), off and free
// unless OTEL_EXPORTER_OTLP_ENDPOINT is set: then each process exports its spans by
// OTLP/HTTP. An order is one trace: the W3C traceparent every outbox row and
// message already carries is each hop's parent, and each hop hands on its own
// span's traceparent (docs/ARCHITECTURE.md, "Traces"). Spans are made where the
// hops are (a request, a publish, an inbox apply), with the parent passed
// explicitly rather than through an active context.
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, defaultTextMapGetter, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { ConfigError, integer, text, type Config, type Setting } from './config.ts';

function ratio(fallback: number, describe: string): Setting<number> {
  return {
    default: String(fallback),
    describe,
    parse(raw) {
      const value = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1)
        throw new ConfigError(`must be a number from 0 to 1, got ${JSON.stringify(raw)}`);
      return value;
    },
  };
}

/** The variables OpenTelemetry's SDKs know by these names, as far as Gozon reads them. */
export const tracingSettings = {
  OTEL_EXPORTER_OTLP_ENDPOINT: text(
    '',
    'OTLP/HTTP endpoint spans are exported to (/v1/traces is added); empty: no traces',
  ),
  OTEL_TRACES_SAMPLER_ARG: ratio(
    1,
    'share of new traces kept (an order whose traceparent says sampled is always kept)',
  ),
  OTEL_BSP_SCHEDULE_DELAY: integer(1000, 'most a finished span waits before its batch is exported, in ms', {
    min: 10,
    max: 60000,
  }),
};

let tracer: Tracer | undefined;
const propagator = new W3CTraceContextPropagator();

/**
 * Starts exporting spans as `service` when OTEL_EXPORTER_OTLP_ENDPOINT is set, with a
 * parent-based sampler (a trace is kept or not once, at its first span, by
 * OTEL_TRACES_SAMPLER_ARG). Answers what flushes and stops it, or undefined when off.
 */
export function startTracing(
  service: string,
  config: Config<typeof tracingSettings>,
): (() => Promise<void>) | undefined {
  if (!config.OTEL_EXPORTER_OTLP_ENDPOINT) return undefined;
  const exporter = new OTLPTraceExporter({ url: `${config.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/$/, '')}/v1/traces` });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.OTEL_TRACES_SAMPLER_ARG) }),
    spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: config.OTEL_BSP_SCHEDULE_DELAY })],
  });
  tracer = provider.getTracer('gozon');
  return () => provider.shutdown();
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
  if (!tracer) return undefined;
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

/** The trace id a traceparent names, for log lines; undefined when it names none. */
export function traceIdOf(traceparent: string | null | undefined): string | undefined {
  return traceparent ? /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/.exec(traceparent)?.[1] : undefined;
}
