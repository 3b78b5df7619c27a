import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { IncomingMessage, InboxBatch } from './consumer.ts';
import type { MessagingTables } from './schema.ts';

/**
 * The first three arguments of every domain's inbox function, in its SQL call:
 * the batch's message ids (uuid[]) and types (text[]) for receive_messages, and
 * the redelivered ids whose attempt counts go with the commit (uuid[]; see
 * createInboxFunctions). The messages are those of an InboxBatch: each id once.
 */
export function receiveArguments(batch: InboxBatch<IncomingMessage>): RawBuilder<unknown> {
  return sql`${batch.messages.map(({ message }) => message.message_id)}::uuid[], ${batch.messages.map(({ type }) => type)}::text[], ${batch.settled}::uuid[]`;
}

/**
 * Forgets message ids received longer ago than the retention, a bounded number
 * at a time (rows another purge holds are skipped). A copy arriving later than
 * that would be applied again; the domains refuse it themselves (one payment
 * slot per order, an order leaves NEW once), the inbox only saves them the work.
 */
export async function purgeReceived(
  db: Kysely<MessagingTables>,
  retentionHours: number,
  limit: number,
): Promise<number> {
  const result = await db
    .deleteFrom('inbox_message')
    .where(
      'message_id',
      'in',
      db
        .selectFrom('inbox_message')
        .select('message_id')
        .where('received_at', '<', sql<Date>`now() - make_interval(hours => ${retentionHours})`)
        .limit(limit)
        .forUpdate()
        .skipLocked(),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** How often each of these redelivered messages was attempted before (absent: never). */
export async function readAttempts(db: Kysely<MessagingTables>, messageIds: string[]): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('inbox_attempt')
    .select(['message_id', 'attempts'])
    .where('message_id', 'in', messageIds)
    .execute();
  return new Map(rows.map((row) => [row.message_id, row.attempts]));
}

/**
 * Counts one more attempt for each of these redelivered messages, in one
 * autocommitted statement, so that the count outlives a death of its consumer
 * during the attempt (read back by readAttempts when it comes again).
 */
export async function recordAttempts(db: Kysely<MessagingTables>, messageIds: string[]): Promise<void> {
  await db
    .insertInto('inbox_attempt')
    .values([...new Set(messageIds)].map((id) => ({ message_id: id, attempts: 1 })))
    .onConflict((oc) =>
      oc.column('message_id').doUpdateSet({ attempts: sql`inbox_attempt.attempts + 1`, last_attempt_at: sql`now()` }),
    )
    .execute();
}

/** Takes one attempt back from each of these messages: its consumer met a failure of the infrastructure, not of the message. */
export async function forgiveAttempts(db: Kysely<MessagingTables>, messageIds: string[]): Promise<void> {
  await db
    .updateTable('inbox_attempt')
    .set({ attempts: sql`greatest(attempts - 1, 0)` })
    .where('message_id', 'in', messageIds)
    .execute();
}

/** Forgets the attempt counts of messages that are settled (applied, found duplicate, or dead-lettered). */
export async function forgetAttempts(db: Kysely<MessagingTables>, messageIds: string[]): Promise<void> {
  await db.deleteFrom('inbox_attempt').where('message_id', 'in', messageIds).execute();
}
