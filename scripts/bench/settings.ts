// The benchmark's plan, from the environment, read once at start and checked
// like the services' settings: a mistyped number stops the run before a stack
// is started, with every problem in one line.
import { ConfigError, integer, ratio, type Setting } from '@gozon/platform';
import { MAX_IN_FLIGHT } from './load.ts';

/**
 * A comma-separated list of integers, each within the range; blanks between
 * commas are ignored. An empty list is an error unless `allowEmpty`.
 */
function integers(
  fallback: string,
  describe: string,
  range: { min: number; max: number },
  allowEmpty = false,
): Setting<number[]> {
  const each = integer(range.min, describe, range);
  return {
    default: fallback,
    describe,
    parse(raw) {
      const values = raw
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part !== '')
        .map((part) => each.parse(part));
      if (values.length === 0 && !allowEmpty)
        throw new ConfigError(`must list at least one integer from ${range.min} to ${range.max}`);
      return values;
    },
  };
}

/** Every BENCH_* variable `npm run bench` reads, with its default (docs/performance.md lists them). */
export const settings = {
  BENCH_REPLICAS: integers('1,2', 'replicas of each worker, one stack and one run of the plan each', {
    min: 1,
    max: 16,
  }),
  BENCH_MAX_SECONDS: integer(60, 'seconds of the phase at the maximum rate', { min: 1, max: 3600 }),
  BENCH_RATES: integers(
    '250,500,1000,2000',
    'orders/s of each fixed-rate phase, after the maximum (empty: none)',
    { min: 1, max: 100_000 },
    true,
  ),
  BENCH_RATE_SECONDS: integer(20, 'seconds of each fixed-rate phase', { min: 1, max: 3600 }),
  BENCH_CONNECTIONS: integer(64, 'connections sending orders back to back at the maximum rate', {
    min: 1,
    max: MAX_IN_FLIGHT,
  }),
  BENCH_STREAMS: integer(
    1000,
    'live-status streams held through the gateway on the one orders-api replica, one per user, in the first run (0: none)',
    { min: 0, max: 20_000 },
  ),
  BENCH_STREAM_RATES: integers(
    '500,2000',
    'orders/s of each phase with the streams open, for their users, BENCH_RATE_SECONDS each (empty: memory only)',
    { min: 1, max: 100_000 },
    true,
  ),
  BENCH_WALLETS: integer(200, 'wallets opened, topped up and ordered from in turn', { min: 1, max: 100_000 }),
  BENCH_OBSERVED_ROUNDS: integer(
    4,
    'rounds of a stack without metrics scraped and traces exported, and one with, after the first run (0: none)',
    { min: 0, max: 20 },
  ),
  BENCH_OBSERVED_SECONDS: integer(20, 'seconds at the maximum rate of each stack of a round', { min: 1, max: 3600 }),
  BENCH_TRACE_RATIO: ratio(0.1, 'share of orders traced by the observed stacks (their OTEL_TRACES_SAMPLER_ARG)'),
};
