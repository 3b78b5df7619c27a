// Short notes that go away by themselves after TOAST_MS (or when dismissed);
// at most MAX_TOASTS at a time, the oldest leaving first.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export const TOAST_MS = 6_000;
export const MAX_TOASTS = 3;

export interface Toast {
  id: number;
  text: string;
}

export interface ToastsView {
  toasts: Toast[];
  show: (text: string) => void;
  dismiss: (id: number) => void;
}

export function useToasts(): ToastsView {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const timers = useRef(new Map<number, ReturnType<typeof setTimeout>>());
  const nextId = useRef(1);

  const dismiss = useCallback((id: number) => {
    clearTimeout(timers.current.get(id));
    timers.current.delete(id);
    setToasts((shown) => shown.filter((t) => t.id !== id));
  }, []);

  const show = useCallback(
    (text: string) => {
      const id = nextId.current++;
      timers.current.set(
        id,
        setTimeout(() => dismiss(id), TOAST_MS),
      );
      setToasts((shown) => [...shown, { id, text }].slice(-MAX_TOASTS));
    },
    [dismiss],
  );

  useEffect(() => {
    const pending = timers.current;
    return () => pending.forEach((timer) => clearTimeout(timer));
  }, []);

  return { toasts, show, dismiss };
}
