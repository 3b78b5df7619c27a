import { sql, type Kysely, type Transaction } from 'kysely';
import type { MessagingTables } from './schema.ts';

/**
 * The settings of a relaying process's connections (createPool's
 * `sessionSettings`): the claim reads the outbox through a plain index scan.
 * Every sent row leaves a dead entry in the unsent index until vacuum comes; a
 * plain scan visits each once and marks it dead for the scans after it, while
 * the bitmap scan the planner otherwise picks visits them all again on every
 * claim (measured: 1.5 ms and 900 buffers per claim behind 30,000 sent rows,
 * against 0.15 ms and 270 buffers). Set per connection, not per transaction:
 * a `SET LOCAL` in each claim cost a round trip and ~50 µs of the backend's CPU
 * per transaction (`node scripts/statement-cost.ts`: 706–714 against 648–676 µs
 * per order's insert and claim, 2026-12-01). The inbox's statements look rows up
 * by key, where a plain index scan is what the planner picks anyway.
 */
export const RELAY_SESSION_SETTINGS: Record<string, string> = { enable_bitmapscan: 'off' };

/**
 * Rows locked by another relay's open transaction are skipped, so no row is
 * published twice at once; rows set aside as failed are skipped until retried.
 */
export async function claimBatch(trx: Transaction<MessagingTables>, limit: number) {
  return trx
    .selectFrom('outbox_message')
    .select(['id', 'type', 'body', 'traceparent'])
    .where('sent_at', 'is', null)
    .where('failed_at', 'is', null)
    .orderBy('id')
    .limit(limit)
    .forUpdate()
    .skipLocked()
    .execute();
}

export async function markSent(trx: Transaction<MessagingTables>, ids: string[]) {
  await trx.updateTable('outbox_message').set({ sent_at: new Date() }).where('id', 'in', ids).execute();
}

/**
 * Counts a failed publish against each row, with its error, in one statement;
 * a row that reaches `maxAttempts` is set aside (failed_at) so that it no
 * longer comes first in every claim. Answers the ids set aside now.
 */
export async function recordPublishFailures(
  trx: Transaction<MessagingTables>,
  failures: Array<{ id: string; error: string }>,
  maxAttempts: number,
): Promise<string[]> {
  const { rows } = await sql<{ id: string; failed_at: Date | null }>`
    update outbox_message set attempts = attempts + 1, last_error = failure.error,
      failed_at = case when attempts + 1 >= ${maxAttempts} then now() end
    from (values ${sql.join(failures.map((f) => sql`(${f.id}::uuid, ${f.error}::text)`))}) as failure (id, error)
    where outbox_message.id = failure.id
    returning outbox_message.id, outbox_message.failed_at`.execute(trx);
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
