import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `check` every 50 ms until it returns a value other than undefined/false,
 * and resolves with it; rejects after `timeoutMs` with what it last saw. An
 * aborted `signal` ends the polling at once (rejecting with the abort reason):
 * a wait that lost a race must not go on polling into later tests, where the
 * queues and tables it reads may be gone.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
  signal?: AbortSignal,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    signal?.throwIfAborted();
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
      last = value;
    } catch (error) {
      last = error;
    }
    await sleep(50, undefined, { signal });
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}; last: ${last instanceof Error ? last.message : String(last)}`,
  );
}
