// Money in Gozon: bigint kopecks inside, the decimal text of rubles at the
// edges (JSON numbers in the API, the text of a form field in the UI). One rule
// for what an amount may be, read by the services and the shop UI alike; each
// edge words its own answer. Parsing reads the decimal digits and never
// multiplies a float, so 0.1 + 0.2 problems cannot reach a wallet.

export const MAX_RUBLES = 1_000_000_000_000n;
/** Also the most a wallet may hold, so every balance converts to rubles exactly. */
export const MAX_KOPECKS = MAX_RUBLES * 100n;
const DECIMAL = /^(\d+)(?:\.(\d+))?$/;

/** Why a text is not an amount, in the order the checks run. */
export type AmountProblem =
  | 'EMPTY'
  | 'EXPONENT'
  | 'NEGATIVE'
  | 'DECIMAL_COMMA'
  | 'SPACES'
  | 'NOT_DECIMAL'
  | 'TOO_MANY_DECIMALS'
  | 'ZERO'
  | 'TOO_LARGE';

export type AmountReading = { ok: true; kopecks: bigint } | { ok: false; problem: AmountProblem };

/**
 * The text of an amount of rubles (surrounding blanks ignored) → kopecks, or
 * why it is not one: positive, at most two decimals, at most MAX_RUBLES, plain
 * digits with a dot (no exponent, sign, comma or grouping spaces).
 */
export function readRubles(text: string): AmountReading {
  const trimmed = text.trim();
  const refuse = (problem: AmountProblem): AmountReading => ({ ok: false, problem });
  if (trimmed === '') return refuse('EMPTY');
  if (/[eE]/.test(trimmed)) return refuse('EXPONENT');
  if (trimmed.startsWith('-')) return refuse('NEGATIVE');
  if (/^\d+,\d*$/.test(trimmed)) return refuse('DECIMAL_COMMA');
  if (/^[\d\s\u00a0\u202f]+(\.\d*)?$/.test(trimmed) && /\s|\u00a0|\u202f/.test(trimmed)) return refuse('SPACES');
  const match = DECIMAL.exec(trimmed);
  if (!match) return refuse('NOT_DECIMAL');
  const [, whole = '', fraction = ''] = match;
  if (fraction.length > 2) return refuse('TOO_MANY_DECIMALS');
  const kopecks = BigInt(whole) * 100n + BigInt(fraction.padEnd(2, '0'));
  if (kopecks === 0n) return refuse('ZERO');
  if (kopecks > MAX_KOPECKS) return refuse('TOO_LARGE');
  return { ok: true, kopecks };
}

/** An amount the API refused; `message` is the API's wording, to follow the field name. */
export class AmountError extends Error {
  override name = 'AmountError';
  readonly problem: AmountProblem;
  constructor(problem: AmountProblem) {
    super(API_WORDING[problem]);
    this.problem = problem;
  }
}

const API_WORDING: Record<AmountProblem, string> = {
  EMPTY: 'must be a decimal number of rubles',
  EXPONENT: 'must be written without an exponent',
  NEGATIVE: 'must be positive',
  DECIMAL_COMMA: 'must be a decimal number of rubles',
  SPACES: 'must be a decimal number of rubles',
  NOT_DECIMAL: 'must be a decimal number of rubles',
  TOO_MANY_DECIMALS: 'must have at most two decimals',
  ZERO: 'must be positive',
  TOO_LARGE: `must be at most ${MAX_RUBLES} rubles`,
};

/** The decimal text of rubles → kopecks; throws AmountError when `readRubles` refuses it. */
export function parseRubles(text: string): bigint {
  const reading = readRubles(text);
  if (!reading.ok) throw new AmountError(reading.problem);
  return reading.kopecks;
}

/** Kopecks as the plain decimal text of rubles, always with two decimals: 14990n → "149.90". */
export function toDecimalText(kopecks: bigint): string {
  const sign = kopecks < 0n ? '-' : '';
  const abs = kopecks < 0n ? -kopecks : kopecks;
  return `${sign}${abs / 100n}.${(abs % 100n).toString().padStart(2, '0')}`;
}

/**
 * Kopecks as the JSON number of rubles the API writes and reads. Number("149.90")
 * is the double nearest 149.9, which JSON.stringify writes back as "149.9":
 * exact, with no exponent, for every amount up to MAX_KOPECKS.
 */
export function toRublesNumber(kopecks: bigint): number {
  return Number(toDecimalText(kopecks));
}

/**
 * A JSON number of rubles with at most two decimals → kopecks. toFixed(2)
 * prints the double's exact decimal rounded to two places, which is the decimal
 * that was written. Throws RangeError for NaN and infinities.
 */
export function fromRublesNumber(rubles: number): bigint {
  if (!Number.isFinite(rubles)) throw new RangeError(`not an amount: ${rubles}`);
  const match = DECIMAL.exec(Math.abs(rubles).toFixed(2));
  if (!match) throw new RangeError(`not an amount: ${rubles}`);
  const kopecks = BigInt(match[1] ?? '0') * 100n + BigInt(match[2] ?? '0');
  return rubles < 0 ? -kopecks : kopecks;
}
