import type { ColumnType, Generated, Selectable } from 'kysely';
import type { FailureReason } from '@gozon/contracts';
import type { MessagingTables } from '@gozon/messaging';
import type { IdempotencyTables } from '@gozon/http';

/** The database's default name, on this machine and in compose. */
export const PAYMENTS_DATABASE = 'gozon_payments';

export interface WalletTable {
  id: string;
  user_id: string;
  balance: ColumnType<bigint, bigint | undefined, bigint>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export type LedgerKind = 'deposit' | 'debit';

export interface LedgerEntryTable {
  id: Generated<bigint>;
  wallet_id: string;
  kind: LedgerKind;
  amount: bigint;
  order_id: string | null;
  created_at: Generated<Date>;
}

export type PaymentOutcome = 'SUCCEEDED' | 'FAILED';

/** One row per order ever asked for: the decision, made once, whatever message asks again. */
export interface PaymentTable {
  order_id: string;
  user_id: string;
  amount: bigint;
  outcome: ColumnType<PaymentOutcome | null, never, PaymentOutcome>;
  reason: ColumnType<FailureReason | null, never, FailureReason | null>;
  created_at: Generated<Date>;
}

export interface PaymentsDb extends MessagingTables, IdempotencyTables {
  wallet: WalletTable;
  ledger_entry: LedgerEntryTable;
  payment: PaymentTable;
}

export type Wallet = Selectable<WalletTable>;
