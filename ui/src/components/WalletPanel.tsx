import { useEffect, useState } from 'preact/hooks';
import { errorText, type Wallet, type Write } from '../lib/api.ts';
import { unsureText, WORDS } from '../lib/actions.ts';
import { formatRubles, parseAmount } from '../lib/money.ts';
import { useAction } from '../useAction.ts';
import { ActionFailure, Busy, StillWorking } from './ActionStatus.tsx';
import { Field, NOTE_MS, Notice } from './Field.tsx';

export type WalletState =
  | { kind: 'none'; note?: string }
  | { kind: 'loading' }
  | { kind: 'ready'; wallet: Wallet; refreshing: boolean; error?: string }
  | { kind: 'error'; message: string };

interface WalletPanelProps {
  userId: string;
  state: WalletState;
  onOpen: (action: Write) => Promise<void>;
  onTopUp: (kopecks: bigint, action: Write) => Promise<void>;
  onRefresh: () => void;
}

interface Failure {
  message: string;
  /** the outcome is unknown: "Try again" resends the same request under its key */
  unsure: boolean;
}

export function WalletPanel({ userId, state, onOpen, onTopUp, onRefresh }: WalletPanelProps) {
  const opening = useAction((_: string, action: Write) => onOpen(action));
  const [openError, setOpenError] = useState<Failure | null>(null);

  const open = async (again: boolean) => {
    if (opening.busy()) return;
    setOpenError(null);
    const result = await (again ? opening.again() : opening.run(userId));
    if (result.status === 'failed') {
      setOpenError({
        message: result.unsure ? unsureText(result.error, WORDS.wallet) : errorText(result.error),
        unsure: result.unsure,
      });
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
          <button
            type="button"
            class="button"
            onClick={() => void open(false)}
            disabled={opening.working !== null}
            aria-describedby="wallet-working"
          >
            {opening.working ? <Busy label="Opening…" /> : 'Open wallet'}
          </button>
          <StillWorking
            show={opening.slow}
            retry={opening.working?.retry ?? null}
            words={WORDS.wallet}
            testId="wallet-working"
          />
          {openError && (
            <ActionFailure
              message={openError.message}
              onAgain={openError.unsure && !opening.working ? () => void open(true) : null}
              testId="wallet-error"
            />
          )}
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
          <p class="wallet-id">
            Wallet id <code title={state.wallet.walletId}>{state.wallet.walletId}</code>
          </p>
          {state.error && <Notice tone="error">{state.error}</Notice>}
          <TopUpForm onTopUp={onTopUp} />
        </>
      )}
    </section>
  );
}

function TopUpForm({ onTopUp }: { onTopUp: (kopecks: bigint, action: Write) => Promise<void> }) {
  const [amount, setAmount] = useState('');
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [failure, setFailure] = useState<Failure | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const adding = useAction(onTopUp);
  const busy = adding.working !== null;
  useEffect(() => {
    if (!done) return;
    const timer = setTimeout(() => setDone(null), NOTE_MS);
    return () => clearTimeout(timer);
  }, [done]);

  const send = async (run: () => ReturnType<typeof adding.run>) => {
    setDone(null);
    setFailure(null);
    const result = await run();
    if (result.status === 'busy') return;
    if (result.status === 'failed') {
      setFailure({
        message: result.unsure ? unsureText(result.error, WORDS.topUp) : errorText(result.error),
        unsure: result.unsure,
      });
      return;
    }
    setAmount('');
    setDone(`Added ${formatRubles(result.payload)}.`);
  };

  // The form's submit event starts it and does not wait for it (`void` below): it never rejects,
  // since the action's failures come back as results (createActionRunner) and show in the form.
  const submit = async (event: Event) => {
    event.preventDefault();
    // One click, one top-up: while it is in flight a second submit starts nothing.
    if (adding.busy()) return;
    setDone(null);
    setFailure(null);
    const parsed = parseAmount(amount);
    if (!parsed.ok) {
      setFieldError(parsed.message);
      document.getElementById('topup-amount')?.focus();
      return;
    }
    setFieldError(null);
    await send(() => adding.run(parsed.value));
  };

  return (
    <form class="topup" onSubmit={(event) => void submit(event)} noValidate aria-label="Top up the wallet">
      <div class="inline-form">
        <Field
          id="topup-amount"
          label="Top up"
          value={amount}
          onInput={(value) => {
            setAmount(value);
            // Another amount is another top-up: the failure shown was about the one before.
            if (failure) setFailure(null);
            if (fieldError) setFieldError(null);
          }}
          inputMode="decimal"
          placeholder="500.00"
          suffix="₽"
          error={fieldError}
          disabled={busy}
        />
        <button type="submit" class="button" disabled={busy} aria-describedby="topup-working">
          {busy ? <Busy label="Adding…" /> : 'Add money'}
        </button>
      </div>
      <StillWorking
        show={adding.slow}
        retry={adding.working?.retry ?? null}
        words={WORDS.topUp}
        testId="topup-working"
      />
      {failure && (
        <ActionFailure
          message={failure.message}
          onAgain={failure.unsure && !busy ? () => void send(adding.again) : null}
          testId="topup-error"
        />
      )}
      {done && <Notice tone="ok">{done}</Notice>}
    </form>
  );
}
