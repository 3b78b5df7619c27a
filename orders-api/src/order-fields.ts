import { HttpError } from '@gozon/http';
import { MAX_DESCRIPTION_LENGTH, descriptionProblem, type DescriptionProblem } from '@gozon/orders';

const API_WORDING: Record<DescriptionProblem, string> = {
  EMPTY: 'description must not be empty',
  TOO_LONG: `description must be at most ${MAX_DESCRIPTION_LENGTH} characters`,
  CONTROL_CHARACTERS: 'description must not contain control characters',
};

/** An order's description from the body, trimmed; 400 INVALID_DESCRIPTION unless the orders rule (`descriptionProblem`) accepts it. */
export function requireDescription(value: unknown): string {
  if (typeof value !== 'string') throw new HttpError(400, 'INVALID_DESCRIPTION', 'description must be a string');
  const trimmed = value.trim();
  const problem = descriptionProblem(trimmed);
  if (problem) throw new HttpError(400, 'INVALID_DESCRIPTION', API_WORDING[problem]);
  return trimmed;
}
