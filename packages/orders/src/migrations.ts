import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import { createMessagingTables, indexInboxByReceipt, recordMessagingFailures } from '@gozon/messaging';
import { createIdempotencyTable } from '@gozon/http';

// Frozen in time and listed statically: a migration never imports application code.
export const ordersMigrations: Record<string, Migration> = {
  '0001_messaging': createMessagingTables,
  '0002_order': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('order')
        .addColumn('id', 'uuid', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount > 0`))
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) =>
          c
            .notNull()
            .defaultTo('NEW')
            .check(sql`status in ('NEW', 'FINISHED', 'CANCELLED')`),
        )
        .addColumn('cancel_reason', 'text', (c) => c.check(sql`cancel_reason in ('NO_ACCOUNT', 'INSUFFICIENT_FUNDS')`))
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`clock_timestamp()`))
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`clock_timestamp()`))
        .addCheckConstraint(
          'order_cancel_reason_only_when_cancelled',
          sql`(status = 'CANCELLED') = (cancel_reason is not null)`,
        )
        .execute();
      await db.schema
        .createIndex('order_user_newest_first')
        .on('order')
        .columns(['user_id', 'created_at desc', 'id desc'])
        .execute();
    },
  },
  '0003_idempotency_key': createIdempotencyTable,
  '0004_inbox_received_at': indexInboxByReceipt,
  '0005_messaging_failures': recordMessagingFailures,
  // Least privilege (docs/ARCHITECTURE.md): this outbox carries payment requests and nothing
  // else, so an orders process can never have another domain's message published in its name.
  '0006_outbox_of_payment_requests': {
    async up(db: Kysely<any>) {
      await sql`alter table outbox_message add constraint outbox_message_orders_type check (type = 'payment.requested')`.execute(
        db,
      );
    },
  },
};
