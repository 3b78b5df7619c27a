import { useEffect, useRef, useState } from 'preact/hooks';
import { errorText, type Api, type Order, type Wallet } from '../lib/api.ts';
import { formatRubles, parseAmount, parseCount } from '../lib/money.ts';
import { summarizeBurst, type BurstSummary } from '../lib/orders.ts';
import { Field, Notice } from './Field.tsx';

export const MAX_BURST = 50;

interface BurstPanelProps {
  api: Api;
  userId: string;
  billId: string | null;
  orders: Order[] | null;
  pending: boolean;
  addPlaced: (orders: Order[]) => void;
  onWallet: (wallet: Wallet) => void;
}

type Run =
  | { phase: 'placing'; count: number }
  | { phase: 'waiting'; ids: string[]; amount: bigint; before: bigint | null; failed: number; firstError: string | null }
  | { phase: 'done'; summary: BurstSummary; amount: bigint; failed: number; firstError: string | null; balanceError: string | null };

export function BurstPanel({ api, userId, billId, orders, pending, addPlaced, onWallet }: BurstPanelProps) {
  const [countText, setCountText] = useState('20');
  const [amountText, setAmountText] = useState('100');
  const [errors, setErrors] = useState<{ count?: string; amount?: string }>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [run, setRun] = useState<Run | null>(null);
  const finishing = useRef(false);

  const busy = run !== null && run.phase !== 'done';

  const submit = async (event: Event) => {
    event.preventDefault();
    setFormError(null);
    const count = parseCount(countText, 1, MAX_BURST, 'The number of orders');
    const amount = parseAmount(amountText);
    const next: { count?: string; amount?: string } = {};
    if (!count.ok) next.count = count.message;
    if (!amount.ok) next.amount = amount.message;
    setErrors(next);
    if (!count.ok || !amount.ok) {
      document.getElementById(!count.ok ? 'burst-count' : 'burst-amount')?.focus();
      return;
    }

    setRun({ phase: 'placing', count: count.value });
    let before: bigint | null = null;
    if (billId) {
      try {
        const wallet = await api.balance(billId);
        before = wallet.balance;
        onWallet(wallet);
      } catch (error) {
        setRun(null);
        setFormError(`Could not read the balance before the burst: ${errorText(error)}`);
        return;
      }
    }

    const results = await Promise.allSettled(
      Array.from({ length: count.value }, (_, i) => api.placeOrder(userId, amount.value, `Burst order ${i + 1} of ${count.value}`)),
    );
    const placed = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const rejected = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
    addPlaced([...placed].reverse());
    finishing.current = false;
    setRun({
      phase: 'waiting',
      ids: placed.map((o) => o.orderId),
      amount: amount.value,
      before,
      failed: rejected.length,
      firstError: rejected.length > 0 ? errorText(rejected[0]) : null,
    });
  };

  // Every placed order final → read the balance once and compare.
  useEffect(() => {
    if (run?.phase !== 'waiting' || orders === null || finishing.current) return;
    const ids = new Set(run.ids);
    const mine = orders.filter((o) => ids.has(o.orderId));
    if (mine.length < ids.size || mine.some((o) => o.status === 'NEW')) return;
    finishing.current = true;
    void (async () => {
      let actual: bigint | null = null;
      let balanceError: string | null = null;
      if (billId) {
        try {
          const wallet = await api.balance(billId);
          actual = wallet.balance;
          onWallet(wallet);
        } catch (error) {
          balanceError = errorText(error);
        }
      }
      setRun({
        phase: 'done',
        summary: summarizeBurst(mine, run.amount, run.before, actual),
        amount: run.amount,
        failed: run.failed,
        firstError: run.firstError,
        balanceError,
      });
    })();
  }, [run, orders, api, billId, onWallet]);

  const settled =
    run?.phase === 'waiting' && orders
      ? orders.filter((o) => run.ids.includes(o.orderId) && o.status !== 'NEW').length
      : 0;

  return (
    <section class="card card-burst" aria-labelledby="burst-title">
      <h2 id="burst-title">Burst</h2>
      <p class="muted small">
        Place many orders at the same moment and check that the wallet paid each one exactly once.
      </p>
      <form onSubmit={submit} noValidate data-testid="burst-form">
        <div class="form-grid form-grid-burst">
          <Field
            id="burst-count"
            label="Orders"
            value={countText}
            onInput={(value) => {
              setCountText(value);
              if (errors.count) setErrors({ ...errors, count: undefined });
            }}
            inputMode="numeric"
            error={errors.count}
            disabled={busy}
          />
          <Field
            id="burst-amount"
            label="Amount of each"
            value={amountText}
            onInput={(value) => {
              setAmountText(value);
              if (errors.amount) setErrors({ ...errors, amount: undefined });
            }}
            inputMode="decimal"
            suffix="₽"
            error={errors.amount}
            disabled={busy}
          />
        </div>
        <button type="submit" class="button button-wide button-secondary" disabled={busy || pending}>
          {run?.phase === 'placing' ? `Placing ${run.count} orders…` : 'Place them all at once'}
        </button>
        {pending && !busy && <p class="field-hint">Waiting for pending orders to settle first.</p>}
        {formError && <Notice tone="error">{formError}</Notice>}
      </form>

      {run?.phase === 'waiting' && (
        <div class="burst-progress" role="status">
          <p>
            Settled {settled} of {run.ids.length}…
          </p>
          <progress max={Math.max(run.ids.length, 1)} value={settled} aria-label="Orders settled" />
          {run.failed > 0 && <Notice tone="error">{`${run.failed} could not be placed: ${run.firstError}`}</Notice>}
        </div>
      )}

      {run?.phase === 'done' && <BurstResult run={run} />}
    </section>
  );
}

function BurstResult({ run }: { run: Extract<Run, { phase: 'done' }> }) {
  const { summary } = run;
  const reasons = [
    summary.notEnoughMoney > 0 ? `not enough money in the wallet (${summary.notEnoughMoney})` : '',
    summary.noWallet > 0 ? `no wallet (${summary.noWallet})` : '',
  ].filter(Boolean);
  return (
    <div class={`burst-result ${summary.matches ? 'is-match' : 'is-mismatch'}`} data-testid="burst-summary" role="status">
      <dl class="tally">
        <div class="tally-finished">
          <dt>Finished</dt>
          <dd data-testid="burst-finished">{summary.finished}</dd>
        </div>
        <div class="tally-cancelled">
          <dt>Cancelled</dt>
          <dd data-testid="burst-cancelled">{summary.cancelled}</dd>
        </div>
      </dl>
      {reasons.length > 0 && <p class="muted small center">Why cancelled: {reasons.join(', ')}.</p>}
      {summary.balanceBefore !== null ? (
        <dl class="ledger">
          <div>
            <dt>Balance before</dt>
            <dd>{formatRubles(summary.balanceBefore)}</dd>
          </div>
          <div>
            <dt>
              {summary.finished} finished × {formatRubles(run.amount)}
            </dt>
            <dd>− {formatRubles(BigInt(summary.finished) * run.amount)}</dd>
          </div>
          <div class="ledger-total ledger-sep">
            <dt>Expected balance</dt>
            <dd data-testid="burst-expected">{summary.expectedBalance === null ? '—' : formatRubles(summary.expectedBalance)}</dd>
          </div>
          <div class="ledger-total">
            <dt>Actual balance</dt>
            <dd data-testid="burst-actual">{summary.actualBalance === null ? '—' : formatRubles(summary.actualBalance)}</dd>
          </div>
        </dl>
      ) : (
        <p class="muted small">No wallet, so nothing could be paid.</p>
      )}
      <p class="verdict" data-testid="burst-verdict">
        {summary.matches ? (
          <>
            <span class="verdict-mark" aria-hidden="true">
              ✓
            </span>
            {summary.balanceBefore !== null ? 'Balance matches: each finished order was paid exactly once.' : 'Every order was cancelled, as expected.'}
          </>
        ) : (
          <>
            <span class="verdict-mark" aria-hidden="true">
              ✗
            </span>
            {summary.balanceBefore !== null ? 'The balance does not match the finished orders.' : 'Some orders were paid without a wallet.'}
          </>
        )}
      </p>
      {run.failed > 0 && <Notice tone="error">{`${run.failed} could not be placed: ${run.firstError}`}</Notice>}
      {run.balanceError && <Notice tone="error">{`Could not read the balance afterwards: ${run.balanceError}`}</Notice>}
    </div>
  );
}
