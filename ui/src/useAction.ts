// A form's writing action as a hook: one in flight at a time, the unsure one
// kept with its key (see lib/actions.ts), and `slow` once an answer has taken
// long enough that the person should be told the shop is still working on it.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Write } from './lib/api.ts';
import { createActionRunner, type ActionRunner, type ActionView } from './lib/actions.ts';

/** How long an answer may take before "still working" is shown next to the busy button. */
export const SLOW_MS = 1_000;

export interface ActionHook<P, R> extends ActionView<P>, ActionRunner<P, R> {
  /** in flight for SLOW_MS or more, or being retried */
  slow: boolean;
}

export function useAction<P, R>(perform: (payload: P, write: Write) => Promise<R>): ActionHook<P, R> {
  const performRef = useRef(perform);
  performRef.current = perform;
  const [view, setView] = useState<ActionView<P>>({ working: null, unsure: null });
  const runner = useRef<ActionRunner<P, R> | null>(null);
  runner.current ??= createActionRunner<P, R>((payload, write) => performRef.current(payload, write), setView);

  const waited = useSlow(view.working !== null);
  return { ...view, ...runner.current, slow: waited || (view.working?.retry ?? null) !== null };
}

/** True once inFlight has stayed true for SLOW_MS; false again as soon as it is not. */
export function useSlow(inFlight: boolean): boolean {
  const [waited, setWaited] = useState(false);
  useEffect(() => {
    setWaited(false);
    if (!inFlight) return;
    const timer = setTimeout(() => setWaited(true), SLOW_MS);
    return () => clearTimeout(timer);
  }, [inFlight]);
  return inFlight && waited;
}
