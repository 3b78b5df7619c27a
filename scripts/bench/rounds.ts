// The observability rounds' plan and arithmetic: which stack of each round goes
// first, and what watching cost over all of them.
import { round } from './stats.ts';

/**
 * For each of `rounds` rounds, whether its observed stack runs first: in turn,
 * counted from the last round, which runs plain then observed (so the last
 * stack standing is observed, and runs the fixed rates and the dashboard).
 * An even count balances the order: as many rounds each way, which cancels a
 * drift of the machine's speed that is linear over the rounds.
 */
export function observedFirstInRounds(rounds: number): boolean[] {
  return Array.from({ length: rounds }, (_, index) => (rounds - 1 - index) % 2 === 1);
}

/**
 * What watching cost, from each round's completed orders/s without and with
 * it: over all rounds, 1 − Σ observed ÷ Σ plain, in % (null when nothing
 * completed), and the median, lowest and highest of the rounds' own costs.
 */
export function costOfWatching(rounds: Array<{ plain: number; observed: number }>): {
  percent: number | null;
  median: number | null;
  lowest: number | null;
  highest: number | null;
} {
  const sum = (kind: 'plain' | 'observed') => rounds.reduce((total, r) => total + r[kind], 0);
  const each = rounds
    .filter((r) => r.plain > 0)
    .map((r) => (100 * (r.plain - r.observed)) / r.plain)
    .sort((a, b) => a - b);
  const middle = each.length / 2;
  const median = each.length === 0 ? null : (each[Math.floor(middle)]! + each[Math.ceil(middle) - 1]!) / 2;
  const rounded = (value: number | null | undefined) =>
    value === null || value === undefined ? null : round(value, 1);
  return {
    percent: sum('plain') > 0 ? round((100 * (sum('plain') - sum('observed'))) / sum('plain'), 1) : null,
    median: rounded(median),
    lowest: rounded(each[0]),
    highest: rounded(each.at(-1)),
  };
}
