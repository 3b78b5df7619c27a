import type { ColumnType, Generated, Selectable } from 'kysely';
import type { FailureReason } from '@gozon/contracts';
import type { MessagingTables } from '@gozon/messaging';
import type { IdempotencyTables } from '@gozon/http';

/** The database's default name, on this machine and in compose. */
export const ORDERS_DATABASE = 'gozon_orders';

export const ORDER_STATUSES = ['NEW', 'FINISHED', 'CANCELLED'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export interface OrderTable {
  id: string;
  user_id: string;
  amount: bigint;
  description: string;
  status: ColumnType<OrderStatus, OrderStatus | undefined, OrderStatus>;
  cancel_reason: ColumnType<FailureReason | null, never, FailureReason | null>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface OrdersDb extends MessagingTables, IdempotencyTables {
  order: OrderTable;
}

export type Order = Selectable<OrderTable>;
