import { sql, type Kysely } from 'kysely';
import type { MessagingTables } from './schema.ts';

export interface ClaimedRow {
  id: string;
  type: string;
  body: string;
  traceparent: string | null;
}

/**
 * One relay batch's only round trip (relay_outbox, messaging migration
 * leaseOutbox): marks `sent` (the ids the previous batch published and the
 * broker confirmed) as sent, then claims up to `limit` unsent rows, oldest
 * first, under a lease of `leaseMs` milliseconds: no other relay claims them
 * until it lapses. Rows another relay is claiming at the same moment are
 * skipped, set-aside rows too. Commits at once, asynchronously (a lost mark
 * publishes a row again, a lost lease frees it: both only make copies the
 * inboxes absorb). Answers the claimed rows in id order.
 */
export async function relayOutbox(
  db: Kysely<MessagingTables>,
  sent: readonly string[],
  limit: number,
  leaseMs: number,
): Promise<ClaimedRow[]> {
  const { rows } =
    await sql<ClaimedRow>`select * from relay_outbox(${sent}::uuid[], ${limit}::integer, ${leaseMs}::integer)`.execute(
      db,
    );
  return rows;
}

/** Frees claimed rows a batch could not publish, so that the next claim takes them without waiting out their lease. */
export async function releaseLeases(db: Kysely<MessagingTables>, ids: readonly string[]): Promise<void> {
  await db
    .updateTable('outbox_message')
    .set({ lease_until: null })
    .where('id', 'in', [...ids])
    .where('sent_at', 'is', null)
    .execute();
}

/**
 * Counts a failed publish against each row, with its error, in one statement,
 * and frees its lease: the next claim takes it again. A row that reaches
 * `maxAttempts` is set aside (failed_at) so that it no longer comes first in
 * every claim. Answers the ids set aside now.
 */
export async function recordPublishFailures(
  db: Kysely<MessagingTables>,
  failures: Array<{ id: string; error: string }>,
  maxAttempts: number,
): Promise<string[]> {
  const { rows } = await sql<{ id: string; failed_at: Date | null }>`
    update outbox_message set attempts = attempts + 1, last_error = failure.error, lease_until = null,
      failed_at = case when attempts + 1 >= ${maxAttempts} then now() end
    from (values ${sql.join(failures.map((f) => sql`(${f.id}::uuid, ${f.error}::text)`))}) as failure (id, error)
    where outbox_message.id = failure.id
    returning outbox_message.id, outbox_message.failed_at`.execute(db);
  return rows.filter((row) => row.failed_at !== null).map((row) => row.id);
}

/** The rows set aside, oldest first, for an operator to look at (npm run dlq -- list-outbox). */
export async function listFailedOutbox(db: Kysely<MessagingTables>, limit: number) {
  return db
    .selectFrom('outbox_message')
    .select(['id', 'type', 'body', 'attempts', 'last_error', 'failed_at'])
    .where('failed_at', 'is not', null)
    .orderBy('id')
    .limit(limit)
    .execute();
}

/** Puts set-aside rows back in line with a fresh count (all of them when `ids` is undefined); answers how many. */
export async function retryFailedOutbox(db: Kysely<MessagingTables>, ids?: string[]): Promise<number> {
  let update = db
    .updateTable('outbox_message')
    .set({ failed_at: null, attempts: 0 })
    .where('failed_at', 'is not', null);
  if (ids) update = update.where('id', 'in', ids);
  const result = await update.executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * Deletes sent rows older than the retention, a bounded number at a time so no
 * statement holds locks for long; rows another relay's purge holds are skipped,
 * as the inbox purge does, so replicas purging at once do not queue on each other.
 */
export async function purgeSent(db: Kysely<MessagingTables>, retentionSeconds: number, limit: number): Promise<number> {
  const result = await db
    .deleteFrom('outbox_message')
    .where(
      'id',
      'in',
      db
        .selectFrom('outbox_message')
        .select('id')
        .where('sent_at', '<', sql<Date>`now() - make_interval(secs => ${retentionSeconds})`)
        .limit(limit)
        .forUpdate()
        .skipLocked(),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** The rows not yet published, set-aside rows apart, and the age in seconds of the oldest of them (0 with none). */
export async function readOutboxBacklog(
  db: Kysely<MessagingTables>,
): Promise<{ unsent: number; oldestSeconds: number }> {
  const row = await db
    .selectFrom('outbox_message')
    .select((eb) => [
      eb.fn.countAll<string>().as('unsent'),
      sql<string | null>`extract(epoch from clock_timestamp() - min(created_at))`.as('oldest'),
    ])
    .where('sent_at', 'is', null)
    .where('failed_at', 'is', null)
    .executeTakeFirstOrThrow();
  return { unsent: Number(row.unsent), oldestSeconds: row.oldest === null ? 0 : Number(row.oldest) };
}

export async function countUnsent(db: Kysely<MessagingTables>): Promise<number> {
  const row = await db
    .selectFrom('outbox_message')
    .select((eb) => eb.fn.countAll<string>().as('count'))
    .where('sent_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}
