import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readConfig, startSpan, startTracing, traceIdOf, traceSampledOf, tracingSettings } from '../../src/index.ts';

const tracing = suite('tracing, when OTEL_EXPORTER_OTLP_ENDPOINT is not set');

tracing('is off: no tracer, no span made, so each hop hands on what it had', async () => {
  const config = readConfig(tracingSettings, {});
  assert.is(config.OTEL_EXPORTER_OTLP_ENDPOINT, '');
  assert.is(await startTracing('unit', config, () => {}), undefined);
  assert.is(
    startSpan('publish payment.requested', 'producer', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'),
    undefined,
  );
});

tracing('the endpoint is an http(s) URL or empty; the sampled share a number from 0 to 1', () => {
  assert.throws(
    () => readConfig(tracingSettings, { OTEL_EXPORTER_OTLP_ENDPOINT: 'jaeger:4318' }),
    /must use http: or https:/,
  );
  assert.is(
    readConfig(tracingSettings, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318' }).OTEL_EXPORTER_OTLP_ENDPOINT,
    'http://jaeger:4318',
  );
  assert.is(readConfig(tracingSettings, { OTEL_TRACES_SAMPLER_ARG: '0.25' }).OTEL_TRACES_SAMPLER_ARG, 0.25);
  assert.throws(() => readConfig(tracingSettings, { OTEL_TRACES_SAMPLER_ARG: '1.5' }), /must be a number from 0 to 1/);
  assert.throws(() => readConfig(tracingSettings, { OTEL_TRACES_SAMPLER_ARG: 'half' }), /must be a number from 0 to 1/);
});

tracing('a traceparent names its trace id for log lines; anything else names none', () => {
  assert.is(traceIdOf('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'), '0af7651916cd43dd8448eb211c80319c');
  assert.is(traceIdOf('not a traceparent'), undefined);
  assert.is(traceIdOf(null), undefined);
});

tracing('a traceparent says whether its trace was kept: the sampled bit of its flags', () => {
  assert.is(traceSampledOf('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'), true);
  assert.is(traceSampledOf('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00'), false);
  assert.is(traceSampledOf('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03'), true);
  assert.is(traceSampledOf('garbage'), undefined);
});

tracing.run();
