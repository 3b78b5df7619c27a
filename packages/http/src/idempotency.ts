import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { sql, type Generated, type Kysely, type Transaction } from 'kysely';
import type { Migration } from 'kysely/migration';
import { HttpError } from './http-error.ts';

// Idempotency-Key on POSTs: the key is claimed, the operation runs and its
// response is stored, all in one transaction. A concurrent request with the
// same key waits on the key's primary key until that transaction ends, then
// finds the stored response and replays it: the operation runs once, whatever
// the timing, and a crash leaves either everything or nothing.

export interface IdempotencyKeyTable {
  key: string;
  request_hash: string;
  status: number;
  body: string;
  created_at: Generated<Date>;
}

export interface IdempotencyTables {
  idempotency_key: IdempotencyKeyTable;
}

export const IDEMPOTENCY_TTL_HOURS = 24;
const KEY = /^[\x21-\x7e]{1,255}$/;

/** Frozen: each domain lists it among its migrations. */
export const createIdempotencyTable: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('idempotency_key')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('request_hash', 'text', (c) => c.notNull())
      .addColumn('status', 'integer', (c) => c.notNull())
      .addColumn('body', 'text', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .execute();
    await db.schema.createIndex('idempotency_key_created_at').on('idempotency_key').column('created_at').execute();
  },
};

/** Every domain database holds the table; this is how the functions below see any of them. */
function view<DB extends IdempotencyTables>(db: Transaction<DB>): Transaction<IdempotencyTables>;
function view<DB extends IdempotencyTables>(db: Kysely<DB>): Kysely<IdempotencyTables>;
function view(db: unknown) {
  return db;
}

/** True when this request now owns the key: new, or expired and taken over. */
async function claimKey(trx: Transaction<IdempotencyTables>, key: string, requestHash: string): Promise<boolean> {
  const claimed = await trx
    .insertInto('idempotency_key')
    .values({ key, request_hash: requestHash, status: 0, body: '' })
    .onConflict((oc) =>
      oc
        .column('key')
        .doUpdateSet({ request_hash: requestHash, status: 0, body: '', created_at: sql`now()` })
        .where('idempotency_key.created_at', '<', sql<Date>`now() - make_interval(hours => ${IDEMPOTENCY_TTL_HOURS})`),
    )
    .returning('key')
    .executeTakeFirst();
  return claimed !== undefined;
}

async function findKey(trx: Transaction<IdempotencyTables>, key: string) {
  return trx
    .selectFrom('idempotency_key')
    .select(['request_hash', 'status', 'body'])
    .where('key', '=', key)
    .executeTakeFirstOrThrow();
}

async function saveResponse(trx: Transaction<IdempotencyTables>, key: string, status: number, body: string) {
  await trx.updateTable('idempotency_key').set({ status, body }).where('key', '=', key).execute();
}

/**
 * Deletes keys past their IDEMPOTENCY_TTL_HOURS, at most `limit` of them, on
 * the created_at index; keys another purge or a request's takeover holds are
 * skipped. Answers how many went.
 */
export async function purgeExpiredKeys<DB extends IdempotencyTables>(db: Kysely<DB>, limit: number): Promise<number> {
  const keys = view(db);
  const result = await keys
    .deleteFrom('idempotency_key')
    .where(
      'key',
      'in',
      keys
        .selectFrom('idempotency_key')
        .select('key')
        .where('created_at', '<', sql<Date>`now() - make_interval(hours => ${IDEMPOTENCY_TTL_HOURS})`)
        .limit(limit)
        .forUpdate()
        .skipLocked(),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Runs work in the transaction db already is, or in a new one. */
export async function inTransaction<DB, T>(db: Kysely<DB>, work: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
  return db.isTransaction ? work(db as Transaction<DB>) : db.transaction().execute(work);
}

export interface IdempotentResult {
  status: ContentfulStatusCode;
  body: unknown;
}

/**
 * SHA-256 of what makes a request this request: method, path, query and the body as sent. The query counts (a
 * top-up's `?user_id=` decides whose wallet may be credited, so a retry naming another user must not replay the
 * first answer); its parameters are sorted, so their order does not, and a request without one hashes as it did
 * before queries were part of it.
 */
async function hashRequest(c: Context): Promise<string> {
  const query = new URL(c.req.url).searchParams;
  query.sort();
  const search = query.size > 0 ? `?${query.toString()}` : '';
  return createHash('sha256')
    .update(`${c.req.method} ${c.req.path}${search}\n`)
    .update(await c.req.text())
    .digest('hex');
}

/**
 * Runs a POST's operation at most once per Idempotency-Key: with the header, in
 * a transaction with the key's claim and stored response; without it, simply on
 * db, so an operation that is one statement costs one round trip (an operation
 * of several statements opens its own transaction: see inTransaction). Only a
 * success is stored: an operation that throws rolls the claim back with
 * everything else.
 */
export async function idempotent<DB extends IdempotencyTables>(
  c: Context,
  db: Kysely<DB>,
  operation: (db: Kysely<DB>) => Promise<IdempotentResult>,
): Promise<Response> {
  const key = c.req.header('idempotency-key');
  if (key === undefined) {
    const result = await operation(db);
    return c.json(result.body as object, result.status);
  }
  if (!KEY.test(key)) {
    throw new HttpError(
      400,
      'INVALID_IDEMPOTENCY_KEY',
      'Idempotency-Key must be 1-255 printable ASCII characters without spaces',
    );
  }
  const requestHash = await hashRequest(c);
  return db.transaction().execute(async (trx) => {
    if (!(await claimKey(view(trx), key, requestHash))) {
      const stored = await findKey(view(trx), key);
      if (stored.request_hash !== requestHash) {
        throw new HttpError(
          422,
          'IDEMPOTENCY_KEY_REUSED',
          'this Idempotency-Key was used for another request; use a new key for a new request',
        );
      }
      return c.body(stored.body, stored.status as ContentfulStatusCode, {
        'Content-Type': 'application/json',
        'Idempotent-Replayed': 'true',
      });
    }
    const result = await operation(trx);
    const body = JSON.stringify(result.body);
    await saveResponse(view(trx), key, result.status, body);
    return c.body(body, result.status, { 'Content-Type': 'application/json' });
  });
}
