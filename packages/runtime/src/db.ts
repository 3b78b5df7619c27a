import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';

const INT8_OID = 20;

// Money columns are bigint kopecks; pg hands int8 back as text unless told, and a
// JavaScript number would lose exactness past 2^53.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (value: string) => BigInt(value) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/**
 * A pool whose connections name their service (application_name), so that
 * pg_stat_activity — and the benchmark's CPU per process — tells whose they are;
 * and whose connections may die under it (the database restarts, a backend is
 * terminated) without taking the process along: pg emits such a death as an
 * 'error' event on the client — the pool listens only while a client is idle, so
 * a client checked out between two queries of a transaction would crash the
 * process. The query that follows fails instead, as a transient error.
 */
export function createPool(connectionString: string, max: number, onConnectionLost: (error: Error) => void, applicationName: string): pg.Pool {
  const pool = new pg.Pool({ connectionString, max, types, connectionTimeoutMillis: 5000, application_name: applicationName });
  pool.on('error', onConnectionLost);
  pool.on('connect', (client) => client.on('error', onConnectionLost));
  return pool;
}

export function createDb<T>(pool: pg.Pool): Kysely<T> {
  return new Kysely<T>({ dialect: new PostgresDialect({ pool }) });
}

export async function pingDb(db: Kysely<any>): Promise<void> {
  await sql`select 1`.execute(db);
}

/** A single dedicated connection for LISTEN: pooled connections come and go. */
export function createListenClient(connectionString: string, applicationName: string): pg.Client {
  return new pg.Client({ connectionString, types, application_name: applicationName });
}
