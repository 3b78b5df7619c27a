// The fields the APIs take, checked by the rules that own them (the money
// rule, the contract's user ids and UUIDs), each refusal a 400 in the one
// error shape.
import { isUuid, userIdProblem } from '@gozon/contracts';
import { AmountError, parseRubles } from '@gozon/money';
import { HttpError } from './http-error.ts';
import { JsonNumber } from './json-body.ts';

/** A JSON number of rubles from the body (kept as written by `readJsonObject`) → kopecks; 400 INVALID_AMOUNT otherwise. */
export function requireAmount(value: unknown): bigint {
  if (value === undefined) throw new HttpError(400, 'INVALID_AMOUNT', 'amount is required');
  if (!(value instanceof JsonNumber))
    throw new HttpError(400, 'INVALID_AMOUNT', 'amount must be a JSON number of rubles, e.g. 149.90');
  try {
    return parseRubles(value.source);
  } catch (error) {
    if (error instanceof AmountError) throw new HttpError(400, 'INVALID_AMOUNT', `amount ${error.message}`);
    throw error;
  }
}

/** A user id from the path, as it is; 400 INVALID_USER_ID unless the contract's rule (`userIdProblem`) accepts it. */
export function requireUserId(value: string): string {
  if (userIdProblem(value) !== undefined) {
    throw new HttpError(
      400,
      'INVALID_USER_ID',
      'user_id must be 1-64 characters: letters, digits, _ . @ -, starting with a letter or digit',
    );
  }
  return value;
}

/** A UUID from the path, lower-cased; 400 INVALID_ID naming the parameter otherwise. */
export function requireUuid(value: string, name: string): string {
  if (!isUuid(value)) throw new HttpError(400, 'INVALID_ID', `${name} must be a UUID`);
  return value.toLowerCase();
}
