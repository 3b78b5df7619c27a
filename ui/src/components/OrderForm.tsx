import { useEffect, useState } from 'preact/hooks';
import { errorText, type Order, type Write } from '../lib/api.ts';
import { unsureText, WORDS } from '../lib/actions.ts';
import { formatRubles, parseAmount } from '../lib/money.ts';
import { parseDescription } from '../lib/rules.ts';
import { useAction } from '../useAction.ts';
import { ActionFailure, Busy, StillWorking } from './ActionStatus.tsx';
import { Field, NOTE_MS, Notice } from './Field.tsx';

export interface OrderRequest {
  kopecks: bigint;
  description: string;
}

interface OrderFormProps {
  hasWallet: boolean;
  onPlace: (order: OrderRequest, action: Write) => Promise<Order>;
}

interface Failure {
  message: string;
  /** the outcome is unknown: "Try again" resends the same order under its key */
  unsure: boolean;
}

export function OrderForm({ hasWallet, onPlace }: OrderFormProps) {
  const [amount, setAmount] = useState('');
  const [description, setDescription] = useState('');
  const [errors, setErrors] = useState<{ amount?: string; description?: string }>({});
  const [failure, setFailure] = useState<Failure | null>(null);
  const [placed, setPlaced] = useState<string | null>(null);
  const place = useAction(onPlace);
  const busy = place.working !== null;
  useEffect(() => {
    if (!placed) return;
    const timer = setTimeout(() => setPlaced(null), NOTE_MS);
    return () => clearTimeout(timer);
  }, [placed]);

  const send = async (run: () => ReturnType<typeof place.run>) => {
    setFailure(null);
    setPlaced(null);
    const result = await run();
    if (result.status === 'busy') return;
    if (result.status === 'failed') {
      setFailure({
        message: result.unsure ? unsureText(result.error, WORDS.order) : errorText(result.error),
        unsure: result.unsure,
      });
      return;
    }
    const order = result.value;
    setPlaced(`Placed “${order.description}” for ${formatRubles(order.amount)}. Watch it in Your orders.`);
    setAmount('');
    setDescription('');
  };

  // The form's submit event starts it and does not wait for it (`void` below): it never rejects,
  // since the action's failures come back as results (createActionRunner) and show in the form.
  const submit = async (event: Event) => {
    event.preventDefault();
    // One click, one order: while it is in flight a second submit (Enter, a script) starts nothing.
    if (place.busy()) return;
    setFailure(null);
    setPlaced(null);
    const parsedAmount = parseAmount(amount);
    const parsedDescription = parseDescription(description);
    const next: { amount?: string; description?: string } = {};
    if (!parsedAmount.ok) next.amount = parsedAmount.message;
    if (!parsedDescription.ok) next.description = parsedDescription.message;
    setErrors(next);
    if (!parsedAmount.ok || !parsedDescription.ok) {
      document.getElementById(!parsedAmount.ok ? 'order-amount' : 'order-description')?.focus();
      return;
    }
    await send(() => place.run({ kopecks: parsedAmount.value, description: parsedDescription.value }));
  };

  // Another amount or description is another order: the failure shown was about the one before.
  const edited = () => {
    if (failure) setFailure(null);
  };

  return (
    <section class="card card-order" aria-labelledby="order-title">
      <h2 id="order-title">Place an order</h2>
      {!hasWallet && (
        <p class="muted small">Without a wallet the order is placed, then cancelled: there is nothing to pay with.</p>
      )}
      <form onSubmit={(event) => void submit(event)} noValidate data-testid="order-form">
        <div class="form-grid">
          <Field
            id="order-amount"
            label="Amount"
            value={amount}
            onInput={(value) => {
              setAmount(value);
              edited();
              if (errors.amount) setErrors({ ...errors, amount: undefined });
            }}
            inputMode="decimal"
            placeholder="149.90"
            suffix="₽"
            error={errors.amount}
            disabled={busy}
            class="field-amount"
          />
          <Field
            id="order-description"
            label="Description"
            value={description}
            onInput={(value) => {
              setDescription(value);
              edited();
              if (errors.description) setErrors({ ...errors, description: undefined });
            }}
            placeholder="a book"
            error={errors.description}
            disabled={busy}
            class="field-description"
          />
        </div>
        <button type="submit" class="button button-wide" disabled={busy} aria-describedby="order-working">
          {busy ? <Busy label="Placing…" /> : 'Place order'}
        </button>
        <StillWorking
          show={place.slow}
          retry={place.working?.retry ?? null}
          words={WORDS.order}
          testId="order-working"
        />
        {failure && (
          <ActionFailure
            message={failure.message}
            onAgain={failure.unsure && !busy ? () => void send(place.again) : null}
            testId="order-form-error"
          />
        )}
        {placed && <Notice tone="ok">{placed}</Notice>}
      </form>
    </section>
  );
}
