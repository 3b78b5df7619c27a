// The services' rules for user ids and descriptions, checked before sending so
// a person sees what is wrong next to the field, in words.
import { MAX_USER_ID_LENGTH, userIdProblem, type UserIdProblem } from '@gozon/contracts/user-id';
import { MAX_DESCRIPTION_LENGTH, descriptionProblem, type DescriptionProblem } from '@gozon/orders/description';
import type { Parsed } from './fields.ts';

const USER_ID_IN_WORDS: Record<UserIdProblem, string> = {
  EMPTY: 'Enter a user name, e.g. alice.',
  TOO_LONG: `A user name is at most ${MAX_USER_ID_LENGTH} characters.`,
  BAD_START: 'A user name starts with a Latin letter or a digit.',
  BAD_CHARACTERS: 'A user name may use Latin letters, digits and _ . @ - only (no spaces).',
};

export function parseUserId(text: string): Parsed<string> {
  const trimmed = text.trim();
  const problem = userIdProblem(trimmed);
  return problem ? { ok: false, message: USER_ID_IN_WORDS[problem] } : { ok: true, value: trimmed };
}

function describeDescriptionProblem(problem: DescriptionProblem, trimmed: string): string {
  switch (problem) {
    case 'EMPTY':
      return 'Describe the order, e.g. “a book”.';
    case 'TOO_LONG':
      return `The description is ${[...trimmed].length} characters; at most ${MAX_DESCRIPTION_LENGTH} fit.`;
    case 'CONTROL_CHARACTERS':
      return 'The description must be one line without control characters.';
  }
}

export function parseDescription(text: string): Parsed<string> {
  const trimmed = text.trim();
  const problem = descriptionProblem(trimmed);
  return problem ? { ok: false, message: describeDescriptionProblem(problem, trimmed) } : { ok: true, value: trimmed };
}
