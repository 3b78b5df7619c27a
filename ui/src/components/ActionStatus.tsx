import type { RetryNotice } from '../lib/api.ts';
import { workingText, type ActionWords } from '../lib/actions.ts';
import { Notice } from './Field.tsx';

/**
 * "Still working…" under a busy button: shown once the answer is slow or being
 * retried, so nobody is left wondering whether to click again. The live region
 * is always there, so a screen reader hears the line when it appears.
 */
export function StillWorking({
  show,
  retry,
  words,
  testId,
}: {
  show: boolean;
  retry: RetryNotice | null;
  words: ActionWords;
  testId: string;
}) {
  return (
    <div class="still-working" id={testId} role="status" aria-live="polite" data-testid={testId}>
      {show && (
        <p class="notice notice-working">
          <span class="spinner" aria-hidden="true" />
          <span>{workingText(retry, words)}</span>
        </p>
      )}
    </div>
  );
}

/** A form's failure: the words, and for an action whose outcome is unknown a "Try again" that resends it under its key. */
export function ActionFailure({
  message,
  onAgain,
  testId,
}: {
  message: string;
  onAgain: (() => void) | null;
  testId: string;
}) {
  return (
    <div class="action-failure">
      <Notice tone="error" testId={testId}>
        {message}
      </Notice>
      {onAgain && (
        <button type="button" class="button button-quiet" onClick={onAgain} data-testid={`${testId}-again`}>
          Try again
        </button>
      )}
    </div>
  );
}

/** What a busy submit button shows: a spinner and its label. */
export function Busy({ label }: { label: string }) {
  return (
    <>
      <span class="spinner" aria-hidden="true" />
      {label}
    </>
  );
}
