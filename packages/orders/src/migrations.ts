import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import {
  createInboxFunctions,
  createMessagingTables,
  indexInboxByReceipt,
  leaseOutbox,
  recordMessagingFailures,
} from '@gozon/messaging';
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
  '0007_inbox_functions': createInboxFunctions,
  // The inbox transaction of payment results in one call (docs/ARCHITECTURE.md, "One call per
  // inbox batch"): the messages new to the inbox move their orders, the first result per order,
  // NEW → FINISHED / CANCELLED. The orders are locked in id order first, so concurrent batches
  // cannot deadlock; final states never change. Each moved order is announced on `channel`
  // (orders' order-changes.ts) as a line `<user_id> <order_id>[ <traceparent>]`,
  // `changes_per_notify` lines per NOTIFY, which PostgreSQL delivers only once the call commits.
  // updated_at is the statement's clock, not the transaction's start: the event id (orders-api's
  // event-cursor.ts) then lies as close before the commit as it can. Answers a row per message
  // new to the inbox, with its order's created_at when it moved that order (null otherwise).
  '0008_apply_payment_results': {
    async up(db: Kysely<any>) {
      await sql`
        create function apply_payment_results(
          message_ids uuid[], message_types text[], settled uuid[],
          order_ids uuid[], statuses text[], reasons text[], traceparents text[],
          channel text, changes_per_notify integer
        ) returns table (message_id uuid, order_created_at timestamptz)
        language plpgsql set enable_seqscan = off set plan_cache_mode = force_generic_plan as $$
        #variable_conflict use_column
        declare
          fresh uuid[] := array(select receive_messages(message_ids, message_types, settled));
          moved_ids uuid[];
          moved_users text[];
          moved_traceparents text[];
          moved_messages uuid[];
          moved_created timestamptz[];
        begin
          perform 1 from "order"
          where id = any(array(select r.order_id from unnest(message_ids, order_ids) as r (message_id, order_id)
                               where r.message_id = any(fresh)))
            and status = 'NEW'
          order by id for update;
          with result as (
            select distinct on (r.order_id) r.message_id, r.order_id, r.status, r.reason, r.traceparent
            from unnest(message_ids, order_ids, statuses, reasons, traceparents) with ordinality
              as r (message_id, order_id, status, reason, traceparent, position)
            where r.message_id = any(fresh)
            order by r.order_id, r.position
          ), moved as (
            update "order" set status = result.status, cancel_reason = result.reason, updated_at = clock_timestamp()
            from result
            where "order".id = result.order_id and "order".status = 'NEW'
            returning "order".id, "order".user_id, "order".created_at, result.message_id, result.traceparent
          )
          select array_agg(moved.id), array_agg(moved.user_id), array_agg(moved.traceparent),
                 array_agg(moved.message_id), array_agg(moved.created_at)
          into moved_ids, moved_users, moved_traceparents, moved_messages, moved_created
          from moved;
          perform pg_notify(channel, string_agg(m.user_id || ' ' || m.id || coalesce(' ' || m.traceparent, ''), E'\n'))
          from unnest(moved_users, moved_ids, moved_traceparents) with ordinality as m (user_id, id, traceparent, n)
          group by (m.n - 1) / changes_per_notify;
          return query
          select f.id, m.created_at
          from unnest(fresh) as f (id)
          left join unnest(moved_messages, moved_created) as m (message_id, created_at) on m.message_id = f.id;
        end $$`.execute(db);
      await sql`revoke all on function apply_payment_results(uuid[], text[], uuid[], uuid[], text[], text[], text[], text, integer) from public`.execute(
        db,
      );
    },
  },
  '0009_outbox_lease': leaseOutbox,
};
