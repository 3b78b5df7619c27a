// What a form field's text becomes: its value, or a message in words next to
// the field saying what is wrong. Money and the services' rules have their own
// modules (money.ts, rules.ts); the rest is here.

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

/** The text of a whole-number field (e.g. how many orders) → an integer in [min, max]. */
export function parseCount(text: string, min: number, max: number, what = 'The number'): Parsed<number> {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, message: `${what} is required.` };
  if (!/^\d+$/.test(trimmed)) return { ok: false, message: `${what} must be a whole number from ${min} to ${max}.` };
  const value = Number(trimmed);
  if (value < min || value > max) return { ok: false, message: `${what} must be from ${min} to ${max}.` };
  return { ok: true, value };
}
