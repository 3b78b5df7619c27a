import type { Transaction } from 'kysely';
import { messagingView, type MessagingTables } from './schema.ts';

/**
 * Records a message as received. False means it was received before: the caller
 * must not apply it again. A concurrent insert of the same id waits on the
 * primary key until the other transaction ends, so two deliveries never both win.
 */
export async function insertInboxMessage<DB extends MessagingTables>(trx: Transaction<DB>, messageId: string, type: string): Promise<boolean> {
  const inserted = await messagingView(trx)
    .insertInto('inbox_message')
    .values({ message_id: messageId, type })
    .onConflict((oc) => oc.column('message_id').doNothing())
    .returning('message_id')
    .executeTakeFirst();
  return inserted !== undefined;
}
