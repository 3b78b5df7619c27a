import { useEffect, useRef, useState } from 'preact/hooks';
import { errorText, type Api, type Order, type Wallet } from '../lib/api.ts';
import { newActionKey, outcomeUnknown, type UserAction } from '../lib/actions.ts';
import { parseCount } from '../lib/fields.ts';
import { formatRubles, parseAmount } from '../lib/money.ts';
import { summarizeBurst, type BurstSummary } from '../lib/orders.ts';
import { useSlow } from '../useAction.ts';
import { Busy } from './ActionStatus.tsx';
import { Field, Notice } from './Field.tsx';

export const MAX_BURST = 50;

interface BurstPanelProps {
  api: Api;
  userId: string;
  walletId: string | null;
  orders: Order[] | null;
  pending: boolean;
  addPlaced: (orders: Order[]) => void;
  onWallet: (wallet: Wallet) => void;
}

/** What the burst has placed so far, over its first sending and any "Try again" of orders that got no answer. */
interface Placed {
  ids: string[];
  amount: bigint;
  before: bigint | null;
  /** refused by the server: not placed */
  refused: number;
  firstError: string | null;
  /** no answer in the end: each kept with its key, to try again */
  unsure: Array<UserAction<string>>;
  unsureError: string | null;
}

type Run =
  | { phase: 'placing'; count: number; retrying: number }
  | ({ phase: 'waiting' } & Placed)
  | ({ phase: 'done'; summary: BurstSummary; balanceError: string | null } & Placed);

export function BurstPanel({ api, userId, walletId, orders, pending, addPlaced, onWallet }: BurstPanelProps) {
  const [countText, setCountText] = useState('20');
  const [amountText, setAmountText] = useState('100');
  const [errors, setErrors] = useState<{ count?: string; amount?: string }>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [run, setRun] = useState<Run | null>(null);
  const finishing = useRef(false);
  // Set at once on submit, before the state shows it: a second submit in the same moment starts nothing.
  const running = useRef(false);

  const busy = run !== null && run.phase !== 'done';
  const placing = run?.phase === 'placing';
  const slow = useSlow(placing);

  /** Sends each order under its own key (retried by the API client under that key) and adds what was placed to so far. */
  const send = async (batch: Array<UserAction<string>>, so: Omit<Placed, 'unsure' | 'unsureError'>) => {
    setRun({ phase: 'placing', count: batch.length, retrying: 0 });
    const retried = new Set<string>();
    const results = await Promise.allSettled(
      batch.map((order) =>
        api.placeOrder(userId, so.amount, order.payload, {
          key: order.key,
          onRetry: () => {
            retried.add(order.key);
            setRun((state) => (state?.phase === 'placing' ? { ...state, retrying: retried.size } : state));
          },
        }),
      ),
    );
    const placed = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failures = results.flatMap((r, i) =>
      r.status === 'rejected' ? [{ order: batch[i]!, error: r.reason as unknown }] : [],
    );
    const unsure = failures.filter((f) => outcomeUnknown(f.error));
    const refused = failures.filter((f) => !outcomeUnknown(f.error));
    addPlaced([...placed].reverse());
    finishing.current = false;
    running.current = false;
    setRun({
      phase: 'waiting',
      ids: [...so.ids, ...placed.map((o) => o.orderId)],
      amount: so.amount,
      before: so.before,
      refused: so.refused + refused.length,
      firstError: so.firstError ?? (refused.length > 0 ? errorText(refused[0]!.error) : null),
      unsure: unsure.map((f) => f.order),
      unsureError: unsure.length > 0 ? errorText(unsure[0]!.error) : null,
    });
  };

  // The form's submit event starts it and does not wait for it (`void` below): it never rejects,
  // since a failed balance read shows as the form's error and send() settles every order (allSettled).
  const submit = async (event: Event) => {
    event.preventDefault();
    if (running.current || busy) return;
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

    running.current = true;
    setRun({ phase: 'placing', count: count.value, retrying: 0 });
    let before: bigint | null = null;
    if (walletId) {
      try {
        const wallet = await api.balance(walletId);
        before = wallet.balance;
        onWallet(wallet);
      } catch (error) {
        running.current = false;
        setRun(null);
        setFormError(`Could not read the balance before the burst: ${errorText(error)}`);
        return;
      }
    }

    // Each order is its own action with its own key, made now.
    const batch = Array.from({ length: count.value }, (_, i) => ({
      key: newActionKey(),
      payload: `Burst order ${i + 1} of ${count.value}`,
    }));
    await send(batch, { ids: [], amount: amount.value, before, refused: 0, firstError: null });
  };

  /** The orders that got no answer, again, each under the key it was first sent with. */
  const tryAgain = () => {
    if (running.current || run === null || run.phase === 'placing' || run.unsure.length === 0) return;
    running.current = true;
    void send(run.unsure, {
      ids: run.ids,
      amount: run.amount,
      before: run.before,
      refused: run.refused,
      firstError: run.firstError,
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
      if (walletId) {
        try {
          const wallet = await api.balance(walletId);
          actual = wallet.balance;
          onWallet(wallet);
        } catch (error) {
          balanceError = errorText(error);
        }
      }
      setRun({ ...run, phase: 'done', summary: summarizeBurst(mine, run.amount, run.before, actual), balanceError });
    })();
  }, [run, orders, api, walletId, onWallet]);

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
      <form onSubmit={(event) => void submit(event)} noValidate data-testid="burst-form">
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
        <button
          type="submit"
          class="button button-wide button-secondary"
          disabled={busy || pending}
          aria-describedby="burst-working"
        >
          {run?.phase === 'placing' ? (
            <Busy label={`Placing ${run.count} ${run.count === 1 ? 'order' : 'orders'}…`} />
          ) : (
            'Place them all at once'
          )}
        </button>
        <div class="still-working" id="burst-working" role="status" aria-live="polite" data-testid="burst-working">
          {run?.phase === 'placing' && (slow || run.retrying > 0) && (
            <p class="notice notice-working">
              <span class="spinner" aria-hidden="true" />
              <span>
                {run.retrying > 0
                  ? `Still working: ${run.retrying} of ${run.count} got no answer yet and are being sent again; each order will be placed only once.`
                  : 'Still working… Each order will be placed only once, so there is no need to click again.'}
              </span>
            </p>
          )}
        </div>
        {pending && !busy && <p class="field-hint">Waiting for pending orders to settle first.</p>}
        {formError && <Notice tone="error">{formError}</Notice>}
      </form>

      {run?.phase === 'waiting' && (
        <div class="burst-progress" role="status">
          <p>
            Settled {settled} of {run.ids.length}…
          </p>
          <progress max={Math.max(run.ids.length, 1)} value={settled} aria-label="Orders settled" />
          <BurstFailures run={run} onAgain={tryAgain} />
        </div>
      )}

      {run?.phase === 'done' && <BurstResult run={run} onAgain={tryAgain} />}
    </section>
  );
}

/** Orders the server refused, and orders that got no answer with a "Try again" that resends them under their keys. */
function BurstFailures({ run, onAgain }: { run: Placed; onAgain: () => void }) {
  const n = run.unsure.length;
  return (
    <>
      {run.refused > 0 && <Notice tone="error">{`${run.refused} could not be placed: ${run.firstError}`}</Notice>}
      {n > 0 && (
        <div class="action-failure">
          <Notice tone="error" testId="burst-unsure">
            {`${n} ${n === 1 ? 'order' : 'orders'} got no answer: ${run.unsureError} It is not known yet whether ${n === 1 ? 'it was' : 'they were'} placed. “Try again” sends the same ${n === 1 ? 'order' : `${n} orders`}, and none can be placed twice.`}
          </Notice>
          <button type="button" class="button button-quiet" onClick={onAgain} data-testid="burst-unsure-again">
            Try again
          </button>
        </div>
      )}
    </>
  );
}

function BurstResult({ run, onAgain }: { run: Extract<Run, { phase: 'done' }>; onAgain: () => void }) {
  const { summary } = run;
  // An order that got no answer may have been placed and paid: until it is known the balance cannot be judged.
  const unknown = !summary.matches && run.unsure.length > 0;
  const reasons = [
    summary.notEnoughMoney > 0 ? `not enough money in the wallet (${summary.notEnoughMoney})` : '',
    summary.noWallet > 0 ? `no wallet (${summary.noWallet})` : '',
  ].filter(Boolean);
  return (
    <div
      class={`burst-result ${summary.matches ? 'is-match' : unknown ? 'is-unknown' : 'is-mismatch'}`}
      data-testid="burst-summary"
      role="status"
    >
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
            <dd data-testid="burst-expected">
              {summary.expectedBalance === null ? '—' : formatRubles(summary.expectedBalance)}
            </dd>
          </div>
          <div class="ledger-total">
            <dt>Actual balance</dt>
            <dd data-testid="burst-actual">
              {summary.actualBalance === null ? '—' : formatRubles(summary.actualBalance)}
            </dd>
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
            {summary.balanceBefore !== null
              ? 'Balance matches: each finished order was paid exactly once.'
              : 'Every order was cancelled, as expected.'}
          </>
        ) : unknown ? (
          <>
            <span class="verdict-mark" aria-hidden="true">
              ?
            </span>
            {`Not checked yet: ${run.unsure.length} ${run.unsure.length === 1 ? 'order' : 'orders'} got no answer, and the balance may include ${run.unsure.length === 1 ? 'it' : 'them'}.`}
          </>
        ) : (
          <>
            <span class="verdict-mark" aria-hidden="true">
              ✗
            </span>
            {summary.balanceBefore !== null
              ? 'The balance does not match the finished orders.'
              : 'Some orders were paid without a wallet.'}
          </>
        )}
      </p>
      <BurstFailures run={run} onAgain={onAgain} />
      {run.balanceError && <Notice tone="error">{`Could not read the balance afterwards: ${run.balanceError}`}</Notice>}
    </div>
  );
}
