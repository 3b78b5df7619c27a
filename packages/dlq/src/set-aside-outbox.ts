// The outbox rows a relay has set aside, in the databases of both domains: rows
// whose publish failed on their own account (unroutable, oversize, unencodable)
// OUTBOX_MAX_ATTEMPTS times, which the relays skip until they are retried.
// What `npm run dlq -- list-outbox` and `retry-outbox` work on.
import type { Kysely } from 'kysely';
import { listFailedOutbox, retryFailedOutbox, type MessagingTables } from '@gozon/messaging';
import { ORDERS_DATABASE, ORDERS_ROLES } from '@gozon/orders';
import { PAYMENTS_DATABASE } from '@gozon/payments';
import {
  createDb,
  createPool,
  databaseSettings,
  urlAsRole,
  type Config,
  type DatabaseConfig,
  type Setting,
} from '@gozon/platform';
import { previewOf } from './preview.ts';

// The URLs of `npm run stack`'s databases, as the tool's own role (gozon_dlq: the set-aside
// rows and nothing else, see packages/<domain>/src/roles.ts); the bounds on every wait
// (connect, statement, lock) as every service reads them.
const { DATABASE_URL: ordersDatabaseUrl, ...databaseBounds } = databaseSettings(ORDERS_DATABASE);
const asTheTool = (setting: Setting<string>): Setting<string> => ({
  ...setting,
  default: urlAsRole(setting.default!, DLQ_DATABASE_ROLE),
});

/** The tool's database role in both domains. */
export const DLQ_DATABASE_ROLE = ORDERS_ROLES.services.find((s) => s.service === 'dlq')!.role;

/** ORDERS_DATABASE_URL, PAYMENTS_DATABASE_URL and the DB_* bounds, for readConfig. */
export const outboxDatabaseSettings = {
  ORDERS_DATABASE_URL: asTheTool(ordersDatabaseUrl),
  PAYMENTS_DATABASE_URL: asTheTool(databaseSettings(PAYMENTS_DATABASE).DATABASE_URL),
  ...databaseBounds,
};

export type OutboxDatabaseConfig = Config<typeof outboxDatabaseSettings>;

export const OUTBOX_DATABASES = ['orders', 'payments'] as const;
export type OutboxDatabaseName = (typeof OUTBOX_DATABASES)[number];

// At most this many rows of each database per run, oldest first: a list and an
// `in (…)` of the ids that stay small. Many more set aside at once means one
// cause to fix first (a type nothing binds); a second run then takes the rest.
export const SET_ASIDE_PER_RUN = 1000;

/** An outbox row set aside, as an operator needs to see it. */
export interface SetAsideRow {
  /** Whose outbox it is in. */
  database: OutboxDatabaseName;
  /** The row's id, which is also the message id it is published with. */
  messageId: string;
  /** The message type, which is the routing key it is published with. */
  type: string;
  /** Failed publishes since it was written or last retried. */
  attempts: number;
  /** Why its last publish failed, e.g. "unroutable: no queue is bound for its type (NO_ROUTE)". */
  error: string;
  /** ISO 8601. */
  setAsideAt: string;
  /** Size of the body in bytes. */
  size: number;
  /** The start of the body, on one line. */
  preview: string;
}

/** What one database answered: the selected rows, or why it could not be read. */
export type OutboxOutcome =
  | {
      database: OutboxDatabaseName;
      url: string;
      /** The selected rows among the oldest SET_ASIDE_PER_RUN set aside. */
      rows: SetAsideRow[];
      /** More rows are set aside than SET_ASIDE_PER_RUN: the rest were not looked at. */
      more: boolean;
      /** For a retry: how many of `rows` it put back in line (fewer if someone else retried some meanwhile). */
      retried?: number;
    }
  | { database: OutboxDatabaseName; url: string; trouble: Error };

function describe(
  database: OutboxDatabaseName,
  row: Awaited<ReturnType<typeof listFailedOutbox>>[number],
): SetAsideRow {
  return {
    database,
    messageId: row.id,
    type: row.type,
    attempts: row.attempts,
    error: row.last_error ?? 'unknown (no last_error)',
    // listFailedOutbox selects only rows with failed_at; the column's type cannot say so.
    setAsideAt: row.failed_at!.toISOString(),
    size: Buffer.byteLength(row.body),
    preview: previewOf(row.body),
  };
}

/** The selected rows among the oldest SET_ASIDE_PER_RUN set aside in one database, and whether there are more. */
async function readSetAside(database: OutboxDatabaseName, db: Kysely<MessagingTables>, ids: readonly string[]) {
  const found = await listFailedOutbox(db, SET_ASIDE_PER_RUN + 1);
  const rows = found.slice(0, SET_ASIDE_PER_RUN).map((row) => describe(database, row));
  return {
    rows: ids.length === 0 ? rows : rows.filter((row) => ids.includes(row.messageId)),
    more: found.length > SET_ASIDE_PER_RUN,
  };
}

/**
 * Lists (`retry: false`) or retries the set-aside outbox rows of both databases,
 * each on a pool of its own bounded by `config` (a database that does not answer
 * fails after DB_CONNECTION_TIMEOUT_MS, a statement after DB_STATEMENT_TIMEOUT_MS
 * plus a second). `ids` selects by message id; empty selects every row, up to
 * SET_ASIDE_PER_RUN per database. A retry clears failed_at and attempts of the
 * rows it listed (retryFailedOutbox), so it touches exactly what it reports; a
 * relay publishes them within its poll interval. Never throws for a database:
 * one that fails is answered with its `trouble`, and the other is still done.
 */
export async function workOnSetAside(
  config: OutboxDatabaseConfig,
  ids: readonly string[],
  retry: boolean,
): Promise<OutboxOutcome[]> {
  const urls: Record<OutboxDatabaseName, string> = {
    orders: config.ORDERS_DATABASE_URL,
    payments: config.PAYMENTS_DATABASE_URL,
  };
  return Promise.all(
    OUTBOX_DATABASES.map(async (database): Promise<OutboxOutcome> => {
      const url = urls[database];
      const poolConfig: DatabaseConfig = { ...config, DATABASE_URL: url };
      // A connection that dies while idle in the pool needs no handling here: the next query fails and says why.
      const db = createDb<MessagingTables>(createPool(poolConfig, () => {}, 'gozon-dlq'));
      try {
        const { rows, more } = await readSetAside(database, db, ids);
        if (!retry) return { database, url, rows, more };
        const retried =
          rows.length === 0
            ? 0
            : await retryFailedOutbox(
                db,
                rows.map((row) => row.messageId),
              );
        return { database, url, rows, more, retried };
      } catch (error) {
        return { database, url, trouble: error instanceof Error ? error : new Error(String(error)) };
      } finally {
        await db.destroy().catch(() => {});
      }
    }),
  );
}
