import { useState } from 'preact/hooks';
import { parseUserId } from '../lib/rules.ts';
import type { KnownUser } from '../lib/users.ts';
import { Field } from './Field.tsx';

interface UserPanelProps {
  current: string | null;
  recent: KnownUser[];
  onSelect: (userId: string) => void;
  onForget: (userId: string) => void;
}

export function UserPanel({ current, recent, onSelect, onForget }: UserPanelProps) {
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);

  const submit = (event: Event) => {
    event.preventDefault();
    const parsed = parseUserId(name);
    if (!parsed.ok) {
      setError(parsed.message);
      document.getElementById('user-id')?.focus();
      return;
    }
    setError(null);
    setName('');
    onSelect(parsed.value);
  };

  const others = recent.filter((u) => u.userId !== current);

  return (
    <section class="card card-user" aria-labelledby="user-title">
      <h2 id="user-title">{current ? 'Shopper' : 'Who is shopping?'}</h2>
      {current ? (
        <p class="current-user">
          <span class="avatar" aria-hidden="true">
            {current.slice(0, 1).toUpperCase()}
          </span>
          <span>
            Shopping as{' '}
            <strong data-testid="current-user" title={current}>
              {current}
            </strong>
          </span>
        </p>
      ) : (
        <p class="muted">Pick a name to shop under. It is kept in this browser so you can come back to it.</p>
      )}

      <form class="inline-form" onSubmit={submit} noValidate>
        <Field
          id="user-id"
          label={current ? 'Switch to another user' : 'User name'}
          value={name}
          onInput={(value) => {
            setName(value);
            if (error) setError(null);
          }}
          placeholder="e.g. alice"
          autoComplete="username"
          maxLength={64}
          error={error}
        />
        <button type="submit" class="button">
          {current ? 'Switch' : 'Start shopping'}
        </button>
      </form>

      {others.length > 0 && (
        <div class="recent">
          <h3 id="recent-title">Recent users</h3>
          <ul class="chips" aria-labelledby="recent-title">
            {others.map((user) => (
              <li key={user.userId} class="chip">
                <button type="button" class="chip-main" onClick={() => onSelect(user.userId)}>
                  <span class="chip-name">{user.userId}</span>
                  {user.walletId && <span class="chip-badge">wallet</span>}
                </button>
                <button
                  type="button"
                  class="chip-remove"
                  aria-label={`Forget ${user.userId}`}
                  title={`Forget ${user.userId}`}
                  onClick={() => onForget(user.userId)}
                >
                  ×
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}
