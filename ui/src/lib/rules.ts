// The server's rules for user ids and descriptions, checked before sending so a
// person sees what is wrong next to the field, in words.
import type { Parsed } from './money.ts';

export const USER_ID = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;
export const MAX_DESCRIPTION_LENGTH = 500;

export function parseUserId(text: string): Parsed<string> {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, message: 'Enter a user name, e.g. alice.' };
  if ([...trimmed].length > 64) return { ok: false, message: 'A user name is at most 64 characters.' };
  if (!/^[A-Za-z0-9]/.test(trimmed)) return { ok: false, message: 'A user name starts with a Latin letter or a digit.' };
  if (!USER_ID.test(trimmed)) {
    return { ok: false, message: 'A user name may use Latin letters, digits and _ . @ - only (no spaces).' };
  }
  return { ok: true, value: trimmed };
}

export function parseDescription(text: string): Parsed<string> {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, message: 'Describe the order, e.g. “a book”.' };
  const length = [...trimmed].length;
  if (length > MAX_DESCRIPTION_LENGTH) {
    return { ok: false, message: `The description is ${length} characters; at most ${MAX_DESCRIPTION_LENGTH} fit.` };
  }
  if (/[\u0000-\u001f\u007f-\u009f]/.test(trimmed)) {
    return { ok: false, message: 'The description must be one line without control characters.' };
  }
  return { ok: true, value: trimmed };
}
