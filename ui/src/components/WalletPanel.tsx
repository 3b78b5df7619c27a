import { useEffect, useState } from 'preact/hooks';
import { errorText, type Wallet } from '../lib/api.ts';
import { formatRubles, parseAmount } from '../lib/money.ts';
import { Field, NOTE_MS, Notice } from './Field.tsx';

export type WalletState =
  | { kind: 'none'; note?: string }
  | { kind: 'loading' }
  | { kind: 'ready'; wallet: Wallet; refreshing: boolean; error?: string }
  | { kind: 'error'; message: string };

interface WalletPanelProps {
  userId: string;
  state: WalletState;
  onOpen: () => Promise<void>;
  onTopUp: (kopecks: bigint) => Promise<void>;
  onRefresh: () => void;
}

export function WalletPanel({ userId, state, onOpen, onTopUp, onRefresh }: WalletPanelProps) {
  const [opening, setOpening] = useState(false);
  const [openError, setOpenError] = useState<string | null>(null);

  const open = async () => {
    setOpening(true);
    setOpenError(null);
    try {
      await onOpen();
    } catch (error) {
      setOpenError(errorText(error));
    } finally {
      setOpening(false);
    }
  };

  return (
    <section class="card card-wallet" aria-labelledby="wallet-title" aria-busy={state.kind === 'loading'}>
      <div class="card-head">
        <h2 id="wallet-title">Wallet</h2>
        {state.kind === 'ready' && (
          <button type="button" class="button-link" onClick={onRefresh} disabled={state.refreshing}>
            {state.refreshing ? 'Refreshing…' : 'Refresh'}
          </button>
        )}
      </div>

      {state.kind === 'loading' && (
        <p class="balance balance-loading" aria-live="polite">
          <span class="skeleton" aria-hidden="true" />
          <span class="visually-hidden">Loading the balance…</span>
        </p>
      )}

      {state.kind === 'none' && (
        <div class="empty" data-testid="no-wallet">
          {state.note && <Notice tone="info">{state.note}</Notice>}
          <p>
            <strong>{userId}</strong> has no wallet in this shop yet. Orders placed without one are cancelled.
          </p>
          <button type="button" class="button" onClick={open} disabled={opening}>
            {opening ? 'Opening…' : 'Open wallet'}
          </button>
          {openError && <Notice tone="error">{openError}</Notice>}
        </div>
      )}

      {state.kind === 'error' && (
        <div class="empty">
          <Notice tone="error">{state.message}</Notice>
          <button type="button" class="button button-quiet" onClick={onRefresh}>
            Try again
          </button>
        </div>
      )}

      {state.kind === 'ready' && (
        <>
          <p class="balance-label" id="balance-label">
            Balance
          </p>
          <p
            class={`balance ${formatRubles(state.wallet.balance).length > 14 ? 'balance-long' : ''}`}
            data-testid="balance"
            aria-labelledby="balance-label"
            aria-live="polite"
          >
            {formatRubles(state.wallet.balance)}
          </p>
          <p class="bill-id">
            Bill <code title={state.wallet.billId}>{state.wallet.billId}</code>
          </p>
          {state.error && <Notice tone="error">{state.error}</Notice>}
          <TopUpForm onTopUp={onTopUp} />
        </>
      )}
    </section>
  );
}

function TopUpForm({ onTopUp }: { onTopUp: (kopecks: bigint) => Promise<void> }) {
  const [amount, setAmount] = useState('');
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (!done) return;
    const timer = setTimeout(() => setDone(null), NOTE_MS);
    return () => clearTimeout(timer);
  }, [done]);

  const submit = async (event: Event) => {
    event.preventDefault();
    setDone(null);
    setFormError(null);
    const parsed = parseAmount(amount);
    if (!parsed.ok) {
      setFieldError(parsed.message);
      document.getElementById('topup-amount')?.focus();
      return;
    }
    setFieldError(null);
    setBusy(true);
    try {
      await onTopUp(parsed.value);
      setAmount('');
      setDone(`Added ${formatRubles(parsed.value)}.`);
    } catch (error) {
      setFormError(errorText(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="topup" onSubmit={submit} noValidate aria-label="Top up the wallet">
      <div class="inline-form">
        <Field
          id="topup-amount"
          label="Top up"
          value={amount}
          onInput={(value) => {
            setAmount(value);
            if (fieldError) setFieldError(null);
          }}
          inputMode="decimal"
          placeholder="500.00"
          suffix="₽"
          error={fieldError}
        />
        <button type="submit" class="button" disabled={busy}>
          {busy ? 'Adding…' : 'Add money'}
        </button>
      </div>
      {formError && <Notice tone="error">{formError}</Notice>}
      {done && <Notice tone="ok">{done}</Notice>}
    </form>
  );
}
