import { sql, type Kysely, type Transaction } from 'kysely';
import { messagingView, type MessagingTables } from './schema.ts';

/**
 * Records a batch of messages as received, in one statement; returns the ids
 * that are new. The others were received before and must not be applied again.
 * A concurrent insert of one of the same ids waits on the primary key until the
 * other transaction ends, so two deliveries never both win.
 */
export async function insertInboxMessages<DB extends MessagingTables>(
  trx: Transaction<DB>,
  messages: Array<{ messageId: string; type: string }>,
): Promise<Set<string>> {
  const inserted = await messagingView(trx)
    .insertInto('inbox_message')
    .values(messages.map((m) => ({ message_id: m.messageId, type: m.type })))
    .onConflict((oc) => oc.column('message_id').doNothing())
    .returning('message_id')
    .execute();
  return new Set(inserted.map((row) => row.message_id));
}

/**
 * Forgets message ids received longer ago than the retention, a bounded number
 * at a time (rows another purge holds are skipped). A copy arriving later than
 * that would be applied again; the domains refuse it themselves (one payment
 * slot per order, an order leaves NEW once), the inbox only saves them the work.
 */
export async function purgeReceived(db: Kysely<MessagingTables>, retentionHours: number, limit: number): Promise<number> {
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
