import type { Kysely } from 'kysely';
import type { Order, OrdersDb } from './schema.ts';

export async function findOrder(db: Kysely<OrdersDb>, orderId: string): Promise<Order | undefined> {
  return db.selectFrom('order').selectAll().where('id', '=', orderId).executeTakeFirst();
}

export async function listOrdersOfUser(db: Kysely<OrdersDb>, userId: string, limit: number): Promise<Order[]> {
  return db
    .selectFrom('order')
    .selectAll()
    .where('user_id', '=', userId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}

/** The orders of these ids that exist, in no set order. */
export async function findOrders(db: Kysely<OrdersDb>, orderIds: string[]): Promise<Order[]> {
  return db.selectFrom('order').selectAll().where('id', 'in', orderIds).execute();
}

/**
 * The user's orders last changed (`updated_at`) after `since`, at most `limit`
 * of them, the latest changes kept; oldest change first.
 */
export async function listOrdersChangedSince(
  db: Kysely<OrdersDb>,
  userId: string,
  since: Date,
  limit: number,
): Promise<Order[]> {
  const latest = await db
    .selectFrom('order')
    .selectAll()
    .where('user_id', '=', userId)
    .where('updated_at', '>', since)
    .orderBy('updated_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  return latest.reverse();
}
