import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';

const INT8_OID = 20;

// Money columns are bigint kopecks; pg hands int8 back as text unless told, and a
// JavaScript number would lose exactness past 2^53.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (value: string) => BigInt(value) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

export function createPool(connectionString: string, max: number): pg.Pool {
  return new pg.Pool({ connectionString, max, types, connectionTimeoutMillis: 5000 });
}

export function createDb<T>(pool: pg.Pool): Kysely<T> {
  return new Kysely<T>({ dialect: new PostgresDialect({ pool }) });
}

export async function pingDb(db: Kysely<any>): Promise<void> {
  await sql`select 1`.execute(db);
}

/** A single dedicated connection for LISTEN: pooled connections come and go. */
export function createListenClient(connectionString: string): pg.Client {
  return new pg.Client({ connectionString, types });
}
