import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import pg from 'pg';
import { createDb, createPool, databaseSettings, ensureDatabase, migrateToLatest, readConfig } from '@gozon/platform';

export const POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';

export interface TestDatabase<DB> {
  name: string;
  url: string;
  db: Kysely<DB>;
  drop(): Promise<void>;
}

export function uniqueSuffix(): string {
  return randomBytes(4).toString('hex');
}

/**
 * A freshly created and migrated database of its own, dropped (with every
 * connection to it) by drop().
 */
export async function createTestDatabase<DB>(
  label: string,
  migrations: Record<string, Migration>,
): Promise<TestDatabase<DB>> {
  const name = `gozon_test_${label.replace(/\W/g, '_')}_${uniqueSuffix()}`;
  const url = `${POSTGRES_URL}/${name}`;
  await ensureDatabase(url);
  // pg-pool's end() resolves before its idle connections have said goodbye; the
  // forced drop below may terminate one of them, which must not fail the test.
  const pool = createPool(
    readConfig(databaseSettings(name), { DATABASE_URL: url, DB_POOL_SIZE: '10' }),
    () => {},
    'gozon-tests',
  );
  const db = createDb<DB>(pool);
  await migrateToLatest(db, migrations);
  return {
    name,
    url,
    db,
    async drop() {
      await db.destroy();
      const admin = new pg.Client({ connectionString: `${POSTGRES_URL}/postgres` });
      await admin.connect();
      try {
        await admin.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
      } finally {
        await admin.end();
      }
    },
  };
}
