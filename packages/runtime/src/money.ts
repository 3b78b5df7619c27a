// Rubles cross the API as JSON numbers with at most two decimals; inside, money
// is bigint kopecks. Parsing reads the decimal text, never a float.

export const MAX_RUBLES = 1_000_000_000_000n;
/** Also the most a wallet may hold, so every balance converts to rubles exactly. */
export const MAX_KOPECKS = MAX_RUBLES * 100n;
const DECIMAL = /^(\d+)(?:\.(\d+))?$/;

export class AmountError extends Error {
  override name = 'AmountError';
}

export function parseRubles(text: string): bigint {
  const trimmed = text.trim();
  if (/[eE]/.test(trimmed)) throw new AmountError('must be written without an exponent');
  if (trimmed.startsWith('-')) throw new AmountError('must be positive');
  const match = DECIMAL.exec(trimmed);
  if (!match) throw new AmountError('must be a decimal number of rubles');
  const [, whole = '', fraction = ''] = match;
  if (fraction.length > 2) throw new AmountError('must have at most two decimals');
  const kopecks = BigInt(whole) * 100n + BigInt(fraction.padEnd(2, '0'));
  if (kopecks === 0n) throw new AmountError('must be positive');
  if (kopecks > MAX_KOPECKS) throw new AmountError(`must be at most ${MAX_RUBLES} rubles`);
  return kopecks;
}

/** Kopecks as the decimal text of rubles, always with two decimals: "149.90". */
export function formatRubles(kopecks: bigint): string {
  const sign = kopecks < 0n ? '-' : '';
  const abs = kopecks < 0n ? -kopecks : kopecks;
  return `${sign}${abs / 100n}.${(abs % 100n).toString().padStart(2, '0')}`;
}

/** Kopecks as a JSON number of rubles; exact, since every such value prints back as its decimal. */
export function toRublesNumber(kopecks: bigint): number {
  return Number(formatRubles(kopecks));
}
