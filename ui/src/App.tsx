import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, errorText, type Api, type Wallet, type Write } from './lib/api.ts';
import {
  forgetUser,
  loadUsers,
  rememberWallet,
  saveUsers,
  selectUser,
  type StorageLike,
  type UsersState,
} from './lib/users.ts';
import { settledText, type SettledOrder } from './lib/orders.ts';
import { notifyWhenHidden } from './lib/notifications.ts';
import { useOrders } from './useOrders.ts';
import { useToasts } from './useToasts.ts';
import { UserPanel } from './components/UserPanel.tsx';
import { WalletPanel, type WalletState } from './components/WalletPanel.tsx';
import { OrderForm, type OrderRequest } from './components/OrderForm.tsx';
import { OrdersList } from './components/OrdersList.tsx';
import { BurstPanel } from './components/BurstPanel.tsx';
import { Toasts } from './components/Toast.tsx';

function browserStorage(): StorageLike | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

export function App({ api }: { api: Api }) {
  const storage = useRef(browserStorage()).current;
  const [users, setUsers] = useState<UsersState>(() => loadUsers(storage));
  useEffect(() => saveUsers(storage, users), [users]);

  const current = users.current;
  const walletId = users.recent.find((u) => u.userId === current)?.walletId ?? null;

  return (
    <div class="app">
      <header class="topbar">
        <div class="topbar-inner">
          <p class="brand">
            <span class="brand-mark" aria-hidden="true">
              G
            </span>
            Gozon <span class="brand-sub">shop</span>
          </p>
          {current && (
            <p class="topbar-user">
              <span class="visually-hidden">Signed in as </span>
              {current}
            </p>
          )}
        </div>
      </header>
      <main class={`layout ${current ? '' : 'layout-welcome'}`}>
        <h1 class="visually-hidden">Gozon shop</h1>
        <UserPanel
          current={current}
          recent={users.recent}
          onSelect={(userId) => setUsers((state) => selectUser(state, userId))}
          onForget={(userId) => setUsers((state) => forgetUser(state, userId))}
        />
        {current && (
          <Shop
            key={current}
            api={api}
            userId={current}
            walletId={walletId}
            onWalletOpened={(id) => setUsers((state) => rememberWallet(state, current, id))}
            onWalletGone={() =>
              setUsers((state) => ({
                ...state,
                recent: state.recent.map((u) => (u.userId === current ? { ...u, walletId: null } : u)),
              }))
            }
          />
        )}
      </main>
      <footer class="footer">
        <p>
          Orders are paid from the wallet asynchronously, exactly once. API: <code>{api.baseUrl}</code>
        </p>
      </footer>
    </div>
  );
}

interface ShopProps {
  api: Api;
  userId: string;
  walletId: string | null;
  onWalletOpened: (walletId: string) => void;
  onWalletGone: () => void;
}

function Shop({ api, userId, walletId, onWalletOpened, onWalletGone }: ShopProps) {
  const [wallet, setWallet] = useState<WalletState>(walletId ? { kind: 'loading' } : { kind: 'none' });
  const walletIdRef = useRef(walletId);
  walletIdRef.current = walletId;

  const showWallet = useCallback((next: Wallet) => {
    setWallet({ kind: 'ready', wallet: next, refreshing: false });
  }, []);

  const loadWallet = useCallback(async () => {
    const id = walletIdRef.current;
    if (!id) return;
    setWallet((state) => (state.kind === 'ready' ? { ...state, refreshing: true } : { kind: 'loading' }));
    try {
      showWallet(await api.balance(id));
    } catch (error) {
      if (error instanceof ApiError && error.code === 'ACCOUNT_NOT_FOUND') {
        onWalletGone();
        setWallet({ kind: 'none', note: 'The wallet this browser remembered no longer exists.' });
        return;
      }
      setWallet((state) =>
        state.kind === 'ready'
          ? { ...state, refreshing: false, error: `Could not refresh the balance: ${errorText(error)}` }
          : { kind: 'error', message: errorText(error) },
      );
    }
  }, [api]);

  useEffect(() => {
    void loadWallet();
  }, [loadWallet]);

  const toasts = useToasts();
  // An order settled: its row has changed already; the balance may have too, and the person is told.
  const onSettled = (settled: SettledOrder[]) => {
    void loadWallet();
    for (const order of settled) {
      const text = settledText(order);
      toasts.show(text);
      notifyWhenHidden(text);
    }
  };
  const orders = useOrders(api, userId, onSettled);

  const openWallet = async (action: Write) => {
    const opened = await api.openWallet(userId, action);
    walletIdRef.current = opened.walletId;
    onWalletOpened(opened.walletId);
    showWallet(opened);
  };

  const topUp = async (kopecks: bigint, action: Write) => {
    const id = walletIdRef.current;
    if (!id) throw new Error('open a wallet first');
    showWallet(await api.topUp(id, kopecks, action));
  };

  const placeOrder = async ({ kopecks, description }: OrderRequest, action: Write) => {
    const order = await api.placeOrder(userId, kopecks, description, action);
    orders.addPlaced([order]);
    return order;
  };

  return (
    <>
      <WalletPanel
        userId={userId}
        state={wallet}
        onOpen={openWallet}
        onTopUp={topUp}
        onRefresh={() => void loadWallet()}
      />
      <OrderForm hasWallet={wallet.kind === 'ready'} onPlace={placeOrder} />
      <OrdersList
        orders={orders.orders}
        error={orders.error}
        pending={orders.pending}
        live={orders.live}
        onRetry={() => void orders.refresh().catch(() => undefined)}
      />
      <BurstPanel
        api={api}
        userId={userId}
        walletId={wallet.kind === 'ready' ? wallet.wallet.walletId : null}
        orders={orders.orders}
        pending={orders.pending}
        addPlaced={orders.addPlaced}
        onWallet={showWallet}
      />
      <Toasts toasts={toasts.toasts} onDismiss={toasts.dismiss} />
    </>
  );
}
