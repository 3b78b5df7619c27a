import {
  sql,
  type ColumnType,
  type Generated,
  type Insertable,
  type Kysely,
  type Selectable,
  type Transaction,
} from 'kysely';
import type { Migration } from 'kysely/migration';

export interface OutboxMessageTable {
  id: string;
  type: string;
  body: string;
  traceparent: string | null;
  created_at: Generated<Date>;
  sent_at: ColumnType<Date | null, never, Date>;
  /** Publishes of this row that failed on its own account (returned unroutable, refused by the client). */
  attempts: Generated<number>;
  last_error: ColumnType<string | null, never, string | null>;
  /** Set aside after too many attempts: the relay skips it until an operator retries it (npm run dlq). */
  failed_at: ColumnType<Date | null, never, Date | null>;
  /** Claimed by a relay until then (relay_outbox): no other relay claims the row before it passes. */
  lease_until: ColumnType<Date | null, never, null>;
}

export interface InboxMessageTable {
  message_id: string;
  type: string;
  received_at: Generated<Date>;
}

/** Deliveries of a redelivered message that began, counted before each one, so a message that keeps killing its consumer is found. */
export interface InboxAttemptTable {
  message_id: string;
  attempts: number;
  last_attempt_at: Generated<Date>;
}

export interface MessagingTables {
  outbox_message: OutboxMessageTable;
  inbox_message: InboxMessageTable;
  inbox_attempt: InboxAttemptTable;
}

export type OutboxMessage = Selectable<OutboxMessageTable>;
export type NewOutboxMessage = Insertable<OutboxMessageTable>;

/**
 * Kysely databases are invariant in their table map; every domain database holds
 * these tables, so the messaging functions see any of them through this view.
 */
// The transaction first: a Transaction is a Kysely too, and the first signature that fits is taken.
export function messagingView<DB extends MessagingTables>(db: Transaction<DB>): Transaction<MessagingTables>;
export function messagingView<DB extends MessagingTables>(db: Kysely<DB>): Kysely<MessagingTables>;
export function messagingView(db: unknown) {
  return db;
}

export const OUTBOX_CHANNEL = 'outbox_message';

// Frozen: each domain lists it after the others. An outbox row that cannot be
// published on its own account is counted and, past a limit, set aside; a
// redelivered message's attempts are counted before each, to find poison.
export const recordMessagingFailures: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .alterTable('outbox_message')
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('last_error', 'text')
      .addColumn('failed_at', 'timestamptz')
      .execute();
    await sql`create index outbox_message_failed on outbox_message (id) where failed_at is not null`.execute(db);
    await db.schema
      .createTable('inbox_attempt')
      .addColumn('message_id', 'uuid', (c) => c.primaryKey())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('last_attempt_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .execute();
  },
};

// Frozen: each domain lists it before its one-call inbox function (docs/ARCHITECTURE.md, "One
// call per inbox batch"). A domain's inbox function is the whole inbox transaction in one
// statement: it calls receive_messages first, applies only the ids it answers, and writes what
// it sends through send_messages. One round trip instead of BEGIN, a statement per step and
// COMMIT, each of which woke the worker and its backend. SECURITY INVOKER: each runs with its
// caller's privileges, and only the roles that keep an inbox or an outbox may call them.
// A domain's inbox function runs with `set plan_cache_mode = force_generic_plan` and `set
// enable_seqscan = off`. Generic plans, planned once per session: left to choose, PostgreSQL went
// on planning its statements at every call (a generic plan cannot see how long the arrays are, so
// it looked costlier), 14 % of the backend's CPU per call in a profile (perf, one call after
// another). Sequential scans off, because a generic plan is planned from the statistics of its
// moment, and one planned while a table was small scans it whole long after it has grown (seen in
// the bench: each call's update of `payment` by its keys a sequential scan, 1.6–2.9 ms a batch,
// where an index scan is µs). Every lookup these functions make is by a key an index covers.
export const createInboxFunctions: Migration = {
  async up(db: Kysely<any>) {
    // Records a batch as received and answers the ids new to the inbox; the others were received
    // before and must not be applied again. A concurrent insert of one of the same ids waits on the
    // primary key until the other transaction ends, so two deliveries never both win; the ids go in
    // sorted, so two batches of the same ids in other orders wait instead of deadlocking. A batch
    // naming an id twice is refused (22023): the domains apply every element whose id is new, so
    // each id once is what keeps one message one effect. The attempt counts of `settled`
    // (redelivered messages of the batch, see consumer.ts) go with the commit.
    // PL/pgSQL, not SQL: a backend keeps the plans of a PL/pgSQL function's statements for the
    // session, where PostgreSQL before 18 plans a SQL function's statements anew at every call.
    await sql`
      create function receive_messages(message_ids uuid[], message_types text[], settled uuid[])
      returns setof uuid language plpgsql as $$
      begin
        if cardinality(message_ids) <> (select count(distinct m) from unnest(message_ids) as m) then
          raise exception 'a batch names a message id more than once' using errcode = 'invalid_parameter_value';
        end if;
        if cardinality(settled) > 0 then
          delete from inbox_attempt where inbox_attempt.message_id = any(settled);
        end if;
        return query
          insert into inbox_message (message_id, type)
          select * from unnest(message_ids, message_types) as m (message_id, type)
          order by m.message_id
          on conflict (message_id) do nothing
          returning inbox_message.message_id;
      end $$`.execute(db);
    await sql`
      create function send_messages(ids uuid[], types text[], bodies text[], traceparents text[])
      returns void language plpgsql as $$
      begin
        insert into outbox_message (id, type, body, traceparent) select * from unnest(ids, types, bodies, traceparents);
      end $$`.execute(db);
    await sql`revoke all on function receive_messages(uuid[], text[], uuid[]) from public`.execute(db);
    await sql`revoke all on function send_messages(uuid[], text[], text[], text[]) from public`.execute(db);
  },
};

// Frozen: each domain lists it after its inbox functions (docs/ARCHITECTURE.md, "One call per
// relay batch"). A relay's batch is one autocommitted call: relay_outbox marks sent the rows the
// relay's previous batch published (the broker confirmed them) and claims the next batch under a
// lease. Before, a batch was BEGIN, the claim (FOR UPDATE SKIP LOCKED) held open across the
// publish, the mark and COMMIT: four round trips, each waking the relay and its backend, and at
// 250 orders/s two thirds of all the database round trips an order cost (PostgreSQL's statement
// log, 2026-12-01). The lease lets the claim commit at once; a relay that dies leaves a lease
// that lapses (a bounded wait) instead of a lock its backend releases. The commit is asynchronous
// (synchronous_commit off for this transaction only): what a crash of PostgreSQL could lose of it
// is a mark, and the row goes out again, or a lease, and the row is claimable at once; the
// consumers' inboxes absorb the copies either way. Plans as the inbox functions' (generic, no
// sequential scan), and the claim by a plain index scan: every sent row leaves a dead entry in the
// unsent index until vacuum comes, which a plain scan visits once and marks dead for the scans
// after it, where a bitmap scan visits them all again on every claim (measured: 1.5 ms and 900
// buffers per claim behind 30,000 sent rows, against 0.15 ms and 270 buffers).
export const leaseOutbox: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('outbox_message').addColumn('lease_until', 'timestamptz').execute();
    await sql`
      create function relay_outbox(sent uuid[], claim_limit integer, lease_ms integer)
      returns table (id uuid, type text, body text, traceparent text)
      language plpgsql
      set enable_bitmapscan = off set enable_seqscan = off set plan_cache_mode = force_generic_plan as $$
      #variable_conflict use_column
      begin
        perform set_config('synchronous_commit', 'off', true);
        if cardinality(sent) > 0 then
          update outbox_message set sent_at = now()
          where outbox_message.id = any(sent) and outbox_message.sent_at is null;
        end if;
        return query
          with claimed as (
            update outbox_message set lease_until = now() + make_interval(secs => lease_ms / 1000.0)
            where outbox_message.id = any(array(
              select unsent.id from outbox_message as unsent
              where unsent.sent_at is null and unsent.failed_at is null
                and (unsent.lease_until is null or unsent.lease_until <= now())
              order by unsent.id limit claim_limit
              for update skip locked))
            returning outbox_message.id, outbox_message.type, outbox_message.body, outbox_message.traceparent
          )
          select * from claimed order by claimed.id;
      end $$`.execute(db);
    await sql`revoke all on function relay_outbox(uuid[], integer, integer) from public`.execute(db);
  },
};

// Frozen: each domain lists it after its own; the inbox purge finds old ids by their receipt.
export const indexInboxByReceipt: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createIndex('inbox_message_received_at').on('inbox_message').column('received_at').execute();
  },
};

// Frozen: each domain lists this migration first. It never changes; a later
// change to these tables is a new migration.
export const createMessagingTables: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('outbox_message')
      .addColumn('id', 'uuid', (c) => c.primaryKey())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('body', 'text', (c) => c.notNull())
      .addColumn('traceparent', 'text')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addColumn('sent_at', 'timestamptz')
      .execute();
    // The relay only ever looks for unsent rows; this index stays as small as the backlog.
    await sql`create index outbox_message_unsent on outbox_message (id) where sent_at is null`.execute(db);
    await sql`create index outbox_message_sent_at on outbox_message (sent_at) where sent_at is not null`.execute(db);
    // One wake-up per inserting statement, not per row; the relay drains in batches anyway.
    await sql`
      create function notify_outbox_message() returns trigger language plpgsql as $$
      begin
        perform pg_notify('outbox_message', '');
        return null;
      end $$`.execute(db);
    await sql`
      create trigger outbox_message_inserted after insert on outbox_message
      for each statement execute function notify_outbox_message()`.execute(db);
    await db.schema
      .createTable('inbox_message')
      .addColumn('message_id', 'uuid', (c) => c.primaryKey())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .execute();
  },
};
