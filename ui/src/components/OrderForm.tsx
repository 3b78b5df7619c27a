import { useEffect, useState } from 'preact/hooks';
import { errorText, type Order } from '../lib/api.ts';
import { formatRubles, parseAmount } from '../lib/money.ts';
import { parseDescription } from '../lib/rules.ts';
import { Field, NOTE_MS, Notice } from './Field.tsx';

interface OrderFormProps {
  hasWallet: boolean;
  onPlace: (kopecks: bigint, description: string) => Promise<Order>;
}

export function OrderForm({ hasWallet, onPlace }: OrderFormProps) {
  const [amount, setAmount] = useState('');
  const [description, setDescription] = useState('');
  const [errors, setErrors] = useState<{ amount?: string; description?: string }>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [placed, setPlaced] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (!placed) return;
    const timer = setTimeout(() => setPlaced(null), NOTE_MS);
    return () => clearTimeout(timer);
  }, [placed]);

  const submit = async (event: Event) => {
    event.preventDefault();
    setFormError(null);
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
    setBusy(true);
    try {
      const order = await onPlace(parsedAmount.value, parsedDescription.value);
      setPlaced(`Placed “${order.description}” for ${formatRubles(order.amount)}. Watch it in Your orders.`);
      setAmount('');
      setDescription('');
    } catch (error) {
      setFormError(errorText(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card card-order" aria-labelledby="order-title">
      <h2 id="order-title">Place an order</h2>
      {!hasWallet && <p class="muted small">Without a wallet the order is placed, then cancelled: there is nothing to pay with.</p>}
      <form onSubmit={submit} noValidate data-testid="order-form">
        <div class="form-grid">
          <Field
            id="order-amount"
            label="Amount"
            value={amount}
            onInput={(value) => {
              setAmount(value);
              if (errors.amount) setErrors({ ...errors, amount: undefined });
            }}
            inputMode="decimal"
            placeholder="149.90"
            suffix="₽"
            error={errors.amount}
            class="field-amount"
          />
          <Field
            id="order-description"
            label="Description"
            value={description}
            onInput={(value) => {
              setDescription(value);
              if (errors.description) setErrors({ ...errors, description: undefined });
            }}
            placeholder="a book"
            error={errors.description}
            class="field-description"
          />
        </div>
        <button type="submit" class="button button-wide" disabled={busy}>
          {busy ? 'Placing…' : 'Place order'}
        </button>
        {formError && <Notice tone="error" testId="order-form-error">{formError}</Notice>}
        {placed && <Notice tone="ok">{placed}</Notice>}
      </form>
    </section>
  );
}
