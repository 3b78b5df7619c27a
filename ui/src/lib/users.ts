// The people who have shopped in this browser, newest first, with the wallet
// each one opened here, kept in localStorage.
export interface KnownUser {
  userId: string;
  /** the wallet's id (the API's bill_id) once opened from this browser */
  walletId: string | null;
}

export interface UsersState {
  current: string | null;
  recent: KnownUser[];
}

export const STORAGE_KEY = 'gozon.shop.users.v1';
export const MAX_RECENT = 8;

export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export const EMPTY: UsersState = { current: null, recent: [] };

/** A user as this browser may have stored it: shops before the word was wallet stored the id as billId. */
type StoredUser = { userId: string; walletId?: unknown; billId?: unknown };

function storedWalletId(user: StoredUser): string | null {
  const id = user.walletId ?? user.billId;
  return typeof id === 'string' ? id : null;
}

export function loadUsers(storage: StorageLike | null): UsersState {
  if (!storage) return EMPTY;
  let raw: unknown;
  try {
    raw = JSON.parse(storage.getItem(STORAGE_KEY) ?? 'null');
  } catch {
    return EMPTY;
  }
  if (typeof raw !== 'object' || raw === null) return EMPTY;
  const { current, recent } = raw as { current?: unknown; recent?: unknown };
  const users = Array.isArray(recent)
    ? (recent as unknown[])
        .filter(
          (u): u is StoredUser => typeof u === 'object' && u !== null && 'userId' in u && typeof u.userId === 'string',
        )
        .map((u) => ({ userId: u.userId, walletId: storedWalletId(u) }))
        .slice(0, MAX_RECENT)
    : [];
  const currentId = typeof current === 'string' && users.some((u) => u.userId === current) ? current : null;
  return { current: currentId, recent: users };
}

export function saveUsers(storage: StorageLike | null, state: UsersState): void {
  try {
    storage?.setItem(STORAGE_KEY, JSON.stringify(state));
  } catch {
    // private mode or full: the shop still works for this visit
  }
}

/** Makes userId the current user and moves it to the top of the recent list. */
export function selectUser(state: UsersState, userId: string): UsersState {
  const existing = state.recent.find((u) => u.userId === userId);
  const user = existing ?? { userId, walletId: null };
  return { current: userId, recent: [user, ...state.recent.filter((u) => u.userId !== userId)].slice(0, MAX_RECENT) };
}

export function rememberWallet(state: UsersState, userId: string, walletId: string): UsersState {
  return { ...state, recent: state.recent.map((u) => (u.userId === userId ? { ...u, walletId } : u)) };
}

export function forgetUser(state: UsersState, userId: string): UsersState {
  const recent = state.recent.filter((u) => u.userId !== userId);
  return { current: state.current === userId ? (recent[0]?.userId ?? null) : state.current, recent };
}
