// What an order's description may be: the orders domain's rule, read by
// orders-api and by the shop UI (which imports this file alone, through the
// package's "./description" export, so it carries no database code).

export const MAX_DESCRIPTION_LENGTH = 500;

/** Why a description is not acceptable, in the order the checks run. */
export type DescriptionProblem = 'EMPTY' | 'TOO_LONG' | 'CONTROL_CHARACTERS';

/**
 * Why `trimmed` (a description with surrounding blanks already removed) is not
 * acceptable, or undefined: 1–500 characters (code points), one line, no
 * control characters.
 */
export function descriptionProblem(trimmed: string): DescriptionProblem | undefined {
  if (trimmed.length === 0) return 'EMPTY';
  if ([...trimmed].length > MAX_DESCRIPTION_LENGTH) return 'TOO_LONG';
  if (/[\u0000-\u001f\u007f-\u009f]/.test(trimmed)) return 'CONTROL_CHARACTERS';
  return undefined;
}
