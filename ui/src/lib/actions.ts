// A person's action that writes — open a wallet, top up, place an order — has
// one Idempotency-Key, made the moment they act. Every attempt of that action
// carries it: the API client's automatic retries, and their own "Try again"
// after an answer that never came. However many times it is sent, the server
// does it once. A new action (other data, or the same after the last one was
// done or refused) gets a new key.
import { ApiError, errorText, type RetryNotice, type Write } from './api.ts';

export interface UserAction<P> {
  key: string;
  payload: P;
}

/** A fresh key for a new action: a random UUID, also where crypto.randomUUID is missing (a page served over plain http). */
export interface RandomSource {
  getRandomValues(array: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer>;
  randomUUID?: () => string;
}

export function newActionKey(source: RandomSource = globalThis.crypto): string {
  if (typeof source.randomUUID === 'function') return source.randomUUID();
  const bytes = source.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * After this failure nobody knows whether the write happened: no answer, a 5xx,
 * or a success the shop could not read. Only the same action, under the same
 * key, may be sent again. A 4xx is a refusal: nothing happened, and the server
 * did not keep the key. So is a refusal by CORS: every write carries an
 * Idempotency-Key header, so the browser asks the gateway first (a preflight)
 * and, refused, sends nothing. Anything else was thrown by the shop itself
 * before or after the request, not by the gateway.
 */
export function outcomeUnknown(error: unknown): boolean {
  if (!(error instanceof ApiError)) return false;
  if (error.kind === 'http') return error.status === null || error.status >= 500;
  return error.kind !== 'refused';
}

const sameData = (a: unknown, b: unknown) => {
  const text = (value: unknown) => JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
  return text(a) === text(b);
};

/** What to send for what the person asks now: the action still unsure again when it is the same, else a new one. */
export function actionFor<P>(unsure: UserAction<P> | null, payload: P): UserAction<P> {
  return unsure !== null && sameData(unsure.payload, payload) ? unsure : { key: newActionKey(), payload };
}

export interface ActionView<P> {
  /** Sent and not yet answered; retry is the automatic retry under way, if any. */
  working: { payload: P; retry: RetryNotice | null } | null;
  /** The last action, whose outcome is unknown: trying it again sends it with its key. */
  unsure: P | null;
}

export type ActionResult<P, R> =
  | { status: 'done'; payload: P; value: R }
  | { status: 'failed'; payload: P; error: unknown; /** kept to try again under its key */ unsure: boolean }
  /** another action of this kind is still in flight: nothing was sent */
  | { status: 'busy' };

// Function properties, not methods: they use no `this`, and are handed on on their own.
export interface ActionRunner<P, R> {
  /** Sends what the person asked for; refuses ('busy') while one is in flight. */
  run: (payload: P) => Promise<ActionResult<P, R>>;
  /** The unsure action again, under its key. */
  again: () => Promise<ActionResult<P, R>>;
  busy: () => boolean;
}

/** One kind of action of one form: one at a time, and an unsure one kept, with its key, until it is settled or replaced. */
export function createActionRunner<P, R>(
  perform: (payload: P, write: Write) => Promise<R>,
  onChange: (view: ActionView<P>) => void = () => {},
): ActionRunner<P, R> {
  let kept: UserAction<P> | null = null;
  let working: ActionView<P>['working'] = null;
  const publish = () => onChange({ working, unsure: working === null && kept !== null ? kept.payload : null });

  async function run(payload: P): Promise<ActionResult<P, R>> {
    if (working !== null) return { status: 'busy' };
    const action = actionFor(kept, payload);
    kept = action;
    working = { payload: action.payload, retry: null };
    publish();
    try {
      const value = await perform(action.payload, {
        key: action.key,
        onRetry: (retry) => {
          working = { payload: action.payload, retry };
          publish();
        },
      });
      kept = null;
      return { status: 'done', payload: action.payload, value };
    } catch (error) {
      if (!outcomeUnknown(error)) kept = null;
      return { status: 'failed', payload: action.payload, error, unsure: kept !== null };
    } finally {
      working = null;
      publish();
    }
  }

  return {
    run,
    again: () => (kept === null ? Promise.resolve({ status: 'busy' }) : run(kept.payload)),
    busy: () => working !== null,
  };
}

/** How a kind of action is spoken of while it is in flight and when its outcome is unknown. */
export interface ActionWords {
  /** "the order will be placed only once" */
  once: string;
  /** "It is not known whether the order was placed" */
  unknown: string;
  /** "“Try again” sends the same order, and it can never be placed twice." */
  again: string;
}

export const WORDS = {
  order: {
    once: 'the order will be placed only once',
    unknown: 'It is not known yet whether the order was placed',
    again: '“Try again” sends the same order, and it can never be placed twice.',
  },
  topUp: {
    once: 'the money will be added only once',
    unknown: 'It is not known yet whether the money was added',
    again: '“Try again” sends the same top-up, and it can never be added twice.',
  },
  wallet: {
    once: 'a user only ever gets one wallet',
    unknown: 'It is not known yet whether the wallet was opened',
    again: '“Try again” asks once more; a user only ever gets one wallet.',
  },
} satisfies Record<string, ActionWords>;

/** Why an attempt is being made again, in a few words. */
export function retryReason(error: ApiError): string {
  if (error.code === 'TIMEOUT') return 'no answer yet';
  if (error.kind === 'network') return 'the gateway could not be reached';
  return 'the service is unavailable for a moment';
}

/** The "still working" line while an action is in flight. */
export function workingText(retry: RetryNotice | null, words: ActionWords): string {
  if (retry === null)
    return `Still working… ${words.once.charAt(0).toUpperCase()}${words.once.slice(1)}, so there is no need to click again.`;
  return `Still working: ${retryReason(retry.reason)}. Trying again (${retry.attempt} of ${retry.attempts}); ${words.once}.`;
}

/** The error of an action whose outcome is unknown, and what trying again does. */
export function unsureText(error: unknown, words: ActionWords): string {
  return `${errorText(error)} ${words.unknown}. ${words.again}`;
}
