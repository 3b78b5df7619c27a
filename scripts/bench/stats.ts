// The arithmetic of the report: rounding, percentiles, counts, and the HTTP
// side of a phase (what this process saw of its own requests). No I/O.
import type { Phase } from './load.ts';

/** `value` rounded to `digits` decimals. */
export const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

/**
 * The value at rank ⌊q × n⌋ (from 0) of values sorted ascending, the last one
 * at most; 0 for none. q from 0 to 1: 0.99 for p99.
 */
export function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** How many times each value occurs. */
export function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

/** The HTTP figures of a phase: requests, failures by outcome, accepted/s, latency percentiles (ms), and the same per second. */
export function summarizeHttp(phase: Phase) {
  const { at, latency, failures } = phase.samples;
  const latencies = [...latency].sort((a, b) => a - b);
  const perSecond = new Map<number, number[]>();
  at.forEach((ms, i) => {
    const second = Math.floor(ms / 1000);
    const values = perSecond.get(second) ?? [];
    values.push(latency[i]!);
    perSecond.set(second, values);
  });
  return {
    requests: latency.length,
    errors: failures.length,
    errorsByOutcome: countBy(failures),
    skipped: phase.skipped,
    acceptedPerSecond: round(phase.accepted.length / phase.seconds),
    http: { p50: percentile(latencies, 0.5), p95: percentile(latencies, 0.95), p99: percentile(latencies, 0.99) },
    httpTimeline: [...perSecond.entries()]
      .sort(([a], [b]) => a - b)
      .map(([second, values]) => ({
        second,
        accepted: values.length,
        httpP99: percentile(
          values.sort((a, b) => a - b),
          0.99,
        ),
      })),
  };
}
