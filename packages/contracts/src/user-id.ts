// A user is a name, not a row: both domains and the UI take the same names, so
// the rule for one is part of the contract between them.

export const MAX_USER_ID_LENGTH = 64;

/** Why a text is not a user id, in the order the checks run. */
export type UserIdProblem = 'EMPTY' | 'TOO_LONG' | 'BAD_START' | 'BAD_CHARACTERS';

/**
 * Why `text` (taken as it is, not trimmed) is not a user id, or undefined if it
 * is one: 1–64 characters of Latin letters, digits and `_ . @ -`, starting with
 * a letter or a digit.
 */
export function userIdProblem(text: string): UserIdProblem | undefined {
  if (text === '') return 'EMPTY';
  if ([...text].length > MAX_USER_ID_LENGTH) return 'TOO_LONG';
  if (!/^[A-Za-z0-9]/.test(text)) return 'BAD_START';
  if (!/^[A-Za-z0-9_.@-]*$/.test(text)) return 'BAD_CHARACTERS';
  return undefined;
}
