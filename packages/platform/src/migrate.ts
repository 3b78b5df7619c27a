import { Migrator, type Migration } from 'kysely/migration';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { commonSettings, databaseSettings, readConfig } from './config.ts';
import { createDb, createPool } from './db.ts';
import { createLogger } from './logger.ts';
import { grantServiceRoles, prepareRoles, rolePasswordSettings, urlActingAs, type DatabaseRoles } from './roles.ts';

/** Applies what is missing; Kysely holds an advisory lock, so two migrators at once take turns. */
export async function migrateToLatest(db: Kysely<any>, migrations: Record<string, Migration>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results = [] } = await migrator.migrateToLatest();
  // What a migration threw; a non-Error (never seen) goes as the cause of one, so that a message and a stack are logged.
  if (error) throw error instanceof Error ? error : new Error('a migration failed', { cause: error });
  return results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

const DUPLICATE_DATABASE = '42P04';
const UNIQUE_VIOLATION = '23505';

/** Creates the database named in the URL if it is missing; racing creators are fine. */
export async function ensureDatabase(connectionString: string): Promise<boolean> {
  const target = new URL(connectionString);
  const name = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(connectionString);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount) return false;
    await client.query(`create database ${pg.escapeIdentifier(name)}`);
    return true;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === DUPLICATE_DATABASE || code === UNIQUE_VIOLATION) return false;
    throw error;
  } finally {
    await client.end();
  }
}

/** What a domain's `migrate` reads: DATABASE_URL is an administrator's (see prepareRoles), plus the roles' passwords. */
export function migrateSettings(database: string, roles: DatabaseRoles) {
  return { ...commonSettings, ...databaseSettings(database), ...rolePasswordSettings(roles) };
}

/**
 * The body of a domain's `migrate` entry point: create the database if needed,
 * its roles (prepareRoles, as the administrator of DATABASE_URL), migrate as the
 * owner, grant each service role its privileges (grantServiceRoles), exit; 1 on
 * any failure, logged as migrate.failed.
 */
export async function runMigrateMain(
  service: string,
  settings: ReturnType<typeof migrateSettings>,
  migrations: Record<string, Migration>,
  roles: DatabaseRoles,
): Promise<void> {
  const config = readConfig(settings);
  const logger = createLogger(service, config.LOG_LEVEL);
  const database = decodeURIComponent(new URL(config.DATABASE_URL).pathname.slice(1));
  const connect = (url: string) =>
    createDb(
      createPool(
        { ...config, DATABASE_URL: url, DB_POOL_SIZE: 1 },
        (error) => logger.warn('db.connection_lost', { error }),
        service,
      ),
    );
  try {
    const created = await ensureDatabase(config.DATABASE_URL);
    const admin = connect(config.DATABASE_URL);
    try {
      await prepareRoles(admin, database, roles, readConfig(rolePasswordSettings(roles)));
    } finally {
      await admin.destroy();
    }
    const owner = connect(urlActingAs(config.DATABASE_URL, roles.owner));
    try {
      const applied = await migrateToLatest(owner, migrations);
      await grantServiceRoles(owner, database, roles);
      logger.info('migrate.done', {
        database_created: created,
        applied,
        owner: roles.owner,
        roles: roles.services.map((s) => s.role),
      });
    } finally {
      await owner.destroy();
    }
  } catch (error) {
    logger.error('migrate.failed', { error });
    process.exitCode = 1;
  }
}
