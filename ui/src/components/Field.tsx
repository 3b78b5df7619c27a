import type { ComponentChildren } from 'preact';

interface FieldProps {
  id: string;
  label: string;
  value: string;
  onInput: (value: string) => void;
  error?: string | null;
  hint?: ComponentChildren;
  inputMode?: 'text' | 'decimal' | 'numeric';
  placeholder?: string;
  suffix?: string;
  autoComplete?: string;
  disabled?: boolean;
  maxLength?: number;
  class?: string;
}

/** A labelled text input with its hint and its own error message underneath. */
export function Field(props: FieldProps) {
  const describedBy = [props.hint ? `${props.id}-hint` : '', props.error ? `${props.id}-error` : '']
    .filter(Boolean)
    .join(' ');
  return (
    <div class={`field ${props.class ?? ''}`}>
      <label for={props.id}>{props.label}</label>
      <div class={`input-wrap ${props.suffix ? 'has-suffix' : ''}`}>
        <input
          id={props.id}
          name={props.id}
          type="text"
          value={props.value}
          inputMode={props.inputMode ?? 'text'}
          placeholder={props.placeholder}
          autoComplete={props.autoComplete ?? 'off'}
          spellcheck={false}
          disabled={props.disabled}
          maxLength={props.maxLength}
          aria-invalid={props.error ? 'true' : undefined}
          aria-describedby={describedBy || undefined}
          onInput={(event) => props.onInput(event.currentTarget.value)}
        />
        {props.suffix && (
          <span class="input-suffix" aria-hidden="true">
            {props.suffix}
          </span>
        )}
      </div>
      {props.hint && (
        <p class="field-hint" id={`${props.id}-hint`}>
          {props.hint}
        </p>
      )}
      {props.error && (
        <p class="field-error" id={`${props.id}-error`}>
          {props.error}
        </p>
      )}
    </div>
  );
}

/** How long a success note stays before it fades out of the way. */
export const NOTE_MS = 6_000;

/** A form-level message: an error from the server or the network, or a quiet success note. */
export function Notice({
  tone,
  children,
  testId,
}: {
  tone: 'error' | 'ok' | 'info';
  children: ComponentChildren;
  testId?: string;
}) {
  return (
    <p class={`notice notice-${tone}`} role={tone === 'error' ? 'alert' : 'status'} data-testid={testId}>
      {children}
    </p>
  );
}
