// Money in the shop. The rule for what an amount may be, and its conversions
// to and from the API's JSON numbers, are the services' own (@gozon/money);
// this module words the rule's answers for a person and shows money the way
// the shop prints it.
import { MAX_KOPECKS, readRubles, type AmountProblem } from '@gozon/money';
import type { Parsed } from './fields.ts';

const NBSP = '\u00a0';

const IN_WORDS: Record<AmountProblem, string> = {
  EMPTY: 'Enter an amount in rubles, e.g. 149.90.',
  EXPONENT: 'Write the amount without an exponent, e.g. 1500 rather than 1.5e3.',
  NEGATIVE: 'The amount must be more than zero.',
  DECIMAL_COMMA: 'Use a dot for kopecks, e.g. 149.90.',
  SPACES: 'Write the amount without spaces, e.g. 1500.',
  NOT_DECIMAL: 'The amount must be a number of rubles, e.g. 149.90.',
  TOO_MANY_DECIMALS: 'Use at most two decimals (kopecks), e.g. 149.90.',
  ZERO: 'The amount must be more than zero.',
  TOO_LARGE: `The amount must be at most ${formatRubles(MAX_KOPECKS)}.`,
};

/** The text of an amount field → kopecks, or a message in words saying what is wrong. */
export function parseAmount(text: string): Parsed<bigint> {
  const reading = readRubles(text);
  return reading.ok ? { ok: true, value: reading.kopecks } : { ok: false, message: IN_WORDS[reading.problem] };
}

/**
 * Kopecks as the shop shows money: groups of three split by a no-break space,
 * a dot, two decimals, then the ruble sign: 123450n → "1 234.50 ₽".
 */
export function formatRubles(kopecks: bigint): string {
  const sign = kopecks < 0n ? '−' : '';
  const abs = kopecks < 0n ? -kopecks : kopecks;
  const whole = (abs / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, NBSP);
  return `${sign}${whole}.${(abs % 100n).toString().padStart(2, '0')}${NBSP}₽`;
}
