// Money in the shop: bigint kopecks inside, decimal text of rubles at the edges.
// Parsing reads the digits the person typed and never multiplies a float, so
// 0.1 + 0.2 problems cannot reach a wallet. The rules are the server's
// (packages/runtime/src/money.ts): positive, at most two decimals, at most
// 1 000 000 000 000 ₽, no exponent.

export const MAX_RUBLES = 1_000_000_000_000n;
export const MAX_KOPECKS = MAX_RUBLES * 100n;

const DECIMAL = /^(\d+)(?:\.(\d+))?$/;
const NBSP = '\u00a0';

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

/** The text of an amount field → kopecks, or a message in words saying what is wrong. */
export function parseAmount(text: string): Parsed<bigint> {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, message: 'Enter an amount in rubles, e.g. 149.90.' };
  if (/[eE]/.test(trimmed)) return { ok: false, message: 'Write the amount without an exponent, e.g. 1500 rather than 1.5e3.' };
  if (trimmed.startsWith('-')) return { ok: false, message: 'The amount must be more than zero.' };
  if (/^\d+,\d*$/.test(trimmed)) return { ok: false, message: 'Use a dot for kopecks, e.g. 149.90.' };
  if (/^[\d\s\u00a0\u202f]+(\.\d*)?$/.test(trimmed) && /\s|\u00a0|\u202f/.test(trimmed)) {
    return { ok: false, message: 'Write the amount without spaces, e.g. 1500.' };
  }
  const match = DECIMAL.exec(trimmed);
  if (!match) return { ok: false, message: 'The amount must be a number of rubles, e.g. 149.90.' };
  const whole = match[1] ?? '';
  const fraction = match[2] ?? '';
  if (fraction.length > 2) return { ok: false, message: 'Use at most two decimals (kopecks), e.g. 149.90.' };
  const kopecks = BigInt(whole) * 100n + BigInt(fraction.padEnd(2, '0'));
  if (kopecks === 0n) return { ok: false, message: 'The amount must be more than zero.' };
  if (kopecks > MAX_KOPECKS) return { ok: false, message: `The amount must be at most ${formatRubles(MAX_KOPECKS)}.` };
  return { ok: true, value: kopecks };
}

/** Kopecks as plain decimal text with two decimals: 123450n → "1234.50". */
export function toDecimalText(kopecks: bigint): string {
  const sign = kopecks < 0n ? '-' : '';
  const abs = kopecks < 0n ? -kopecks : kopecks;
  return `${sign}${abs / 100n}.${(abs % 100n).toString().padStart(2, '0')}`;
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

/**
 * Kopecks as the JSON number the API takes. Number("149.90") is the double
 * nearest 149.9, which JSON.stringify writes back as "149.9": exact, with no
 * exponent, for every amount up to the limit.
 */
export function toJsonNumber(kopecks: bigint): number {
  return Number(toDecimalText(kopecks));
}

/**
 * A JSON number of rubles from the API (at most two decimals) → kopecks.
 * toFixed(2) prints the double's exact decimal rounded to two places, which is
 * the decimal the server wrote.
 */
export function fromJsonNumber(rubles: number): bigint {
  if (!Number.isFinite(rubles)) throw new RangeError(`not an amount: ${rubles}`);
  const negative = rubles < 0;
  const text = Math.abs(rubles).toFixed(2);
  const match = DECIMAL.exec(text);
  if (!match) throw new RangeError(`not an amount: ${rubles}`);
  const kopecks = BigInt(match[1] ?? '0') * 100n + BigInt(match[2] ?? '0');
  return negative ? -kopecks : kopecks;
}

/** The text of a whole-number field (e.g. how many orders) → an integer in [min, max]. */
export function parseCount(text: string, min: number, max: number, what = 'The number'): Parsed<number> {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, message: `${what} is required.` };
  if (!/^\d+$/.test(trimmed)) return { ok: false, message: `${what} must be a whole number from ${min} to ${max}.` };
  const value = Number(trimmed);
  if (value < min || value > max) return { ok: false, message: `${what} must be from ${min} to ${max}.` };
  return { ok: true, value };
}
