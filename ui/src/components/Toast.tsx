import type { Toast } from '../useToasts.ts';

/**
 * The page's short notes (an order paid or cancelled), in one polite live
 * region that is always there, so a screen reader reads each note as it comes.
 */
export function Toasts({ toasts, onDismiss }: { toasts: Toast[]; onDismiss: (id: number) => void }) {
  return (
    <div class="toasts" role="status" aria-live="polite" data-testid="toasts">
      {toasts.map((toast) => (
        <div key={toast.id} class="toast" data-testid="toast">
          <p class="toast-text" data-testid="toast-text">
            {toast.text}
          </p>
          <button type="button" class="toast-close" aria-label="Dismiss" onClick={() => onDismiss(toast.id)}>
            <span aria-hidden="true">×</span>
          </button>
        </div>
      ))}
    </div>
  );
}
