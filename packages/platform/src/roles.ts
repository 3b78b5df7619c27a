// Least privilege in PostgreSQL: a database is owned by a role nobody logs in
// as, which only its migration assumes (SET ROLE), and every service connects
// with a login role of its own, granted exactly the tables and operations it
// uses. The grants are written out per domain (packages/<domain>/src/roles.ts)
// and applied after every migration, so they stay exact as tables come and go.
import { setTimeout as sleep } from 'node:timers/promises';
import { sql, type Kysely } from 'kysely';
import { text } from './config.ts';

/** One process's login role and what it may do: privileges per table, as GRANT takes them. */
export interface ServiceRole {
  /** The deployable that logs in with it, e.g. "orders-api". */
  service: string;
  /** Its PostgreSQL role, e.g. "gozon_orders_api". */
  role: string;
  /** Table → privileges, e.g. `{ order: ['select', 'update (status)'] }`. Every other table: nothing. */
  tables: Readonly<Record<string, readonly string[]>>;
  /** Functions it may call, by signature, e.g. 'credit_wallet(uuid, bigint, text)'. Every other: none. */
  routines?: readonly string[];
}

/** The roles of one domain's database: its owner, and who else may log in to do what. */
export interface DatabaseRoles {
  /** Owns the database and every object in it; NOLOGIN, assumed by the migration alone. */
  owner: string;
  services: readonly ServiceRole[];
}

const DUPLICATE_OBJECT = '42710';
const UNIQUE_VIOLATION = '23505';

/** The role `service` logs in with; throws if `roles` has none for it. */
export function roleOf(roles: DatabaseRoles, service: string): string {
  const found = roles.services.find((s) => s.service === service);
  if (!found) throw new Error(`no database role for ${service}`);
  return found.role;
}

/** The variable a service role's password comes from: "orders-api" → ORDERS_API_DB_PASSWORD. */
export function passwordVariable(service: string): string {
  return `${service.toUpperCase().replace(/-/g, '_')}_DB_PASSWORD`;
}

/**
 * The migration's settings for the service roles' passwords, one per role, each
 * empty by default: the role then keeps what it has (none, where PostgreSQL
 * trusts local connections, as on a developer's machine).
 */
export function rolePasswordSettings(roles: DatabaseRoles) {
  return Object.fromEntries(
    roles.services.map((s) => [
      passwordVariable(s.service),
      text('', `password ${s.role} (${s.service}) logs in with; empty: left as it is`),
    ]),
  );
}

/** `url` with `role` (and `password`, where given) as its user: how a service reaches its database. */
export function urlAsRole(url: string, role: string, password = ''): string {
  const parsed = new URL(url);
  parsed.username = role;
  parsed.password = password;
  return parsed.toString();
}

/** `url` whose sessions act as `role` from their start (PostgreSQL's `-c role=…`): the migration, as the owner. */
export function urlActingAs(url: string, role: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('options', `-c role=${role}`);
  return parsed.toString();
}

/** Creates `role` if missing (racing creators are fine: roles are the cluster's, shared by its databases). */
async function createRole(admin: Kysely<any>, role: string, login: boolean): Promise<void> {
  const found = await sql`select 1 from pg_roles where rolname = ${role}`.execute(admin);
  if (found.rows.length > 0) return;
  try {
    await sql`create role ${sql.id(role)} ${sql.raw(login ? 'login' : 'nologin')}`.execute(admin);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== DUPLICATE_OBJECT && code !== UNIQUE_VIOLATION) throw error;
  }
}

const INTERNAL_ERROR = 'XX000';

/**
 * Sets a role's password. Roles are the cluster's, not a database's: the migrations of two databases
 * of one cluster (gozon_dlq is in both) may set it at once, which PostgreSQL refuses to the second
 * ("tuple concurrently updated"); that one tries again, a few times.
 */
async function setPassword(admin: Kysely<any>, role: string, password: string): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await sql`alter role ${sql.id(role)} password ${sql.lit(password)}`.execute(admin);
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== INTERNAL_ERROR || attempt === 5) throw error;
      await sleep(50 * attempt);
    }
  }
}

async function giveDatabase(admin: Kysely<any>, database: string, owner: string): Promise<void> {
  await sql`alter database ${sql.id(database)} owner to ${sql.id(owner)}`.execute(admin);
}

/**
 * Two migrations of one database at once (compose's restarts, a second replica of the step) would change
 * the same catalogue rows together, which PostgreSQL refuses ("tuple concurrently updated"): their role
 * work takes turns on this lock, the database's own (advisory locks are per database), until commit.
 */
async function takeRolesLock(trx: Kysely<any>): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtext('gozon: database roles'))`.execute(trx);
}

/**
 * Tables, sequences and functions of the public schema someone else owns: made
 * before the owner role existed. A function's name is its signature
 * (regprocedure), ready for ALTER FUNCTION; every name is text, not pg_class's
 * type `name`, which would cut a long signature at 63 bytes.
 */
async function listForeignObjects(admin: Kysely<any>, owner: string): Promise<Array<{ name: string; kind: string }>> {
  const { rows } = await sql<{ name: string; kind: string }>`
    select c.relname::text as name, c.relkind::text as kind from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind in ('r', 'p', 'S', 'v') and pg_get_userbyid(c.relowner) <> ${owner}
      and not exists (select 1 from pg_depend d where d.objid = c.oid and d.deptype in ('a', 'i'))
    union all
    select p.oid::regprocedure::text, 'f' from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'public' and pg_get_userbyid(p.proowner) <> ${owner}
      and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e')`.execute(admin);
  return rows;
}

async function giveObject(admin: Kysely<any>, object: { name: string; kind: string }, owner: string): Promise<void> {
  if (object.kind === 'f') {
    await sql`alter function ${sql.raw(object.name)} owner to ${sql.id(owner)}`.execute(admin);
    return;
  }
  const kind = object.kind === 'S' ? 'sequence' : object.kind === 'v' ? 'view' : 'table';
  await sql`alter ${sql.raw(kind)} ${sql.id('public', object.name)} owner to ${sql.id(owner)}`.execute(admin);
}

/**
 * The administrator's part, before the migration: every role of `roles`
 * exists (the owner NOLOGIN, the services LOGIN, each given its password from
 * `passwords` — variable → value, see rolePasswordSettings — where one is set),
 * the database belongs to the owner, and so does every table, sequence and
 * function made before the owner role existed; and nobody but the owner may create in its
 * schema. `admin` is connected to `database` as a superuser (or a role with
 * CREATEROLE that is a member of the owner role and owns what it gives away).
 * Idempotent.
 */
export async function prepareRoles(
  admin: Kysely<any>,
  database: string,
  roles: DatabaseRoles,
  passwords: Readonly<Record<string, string>>,
): Promise<void> {
  await createRole(admin, roles.owner, false);
  for (const service of roles.services) {
    await createRole(admin, service.role, true);
    const password = passwords[passwordVariable(service.service)];
    if (password) await setPassword(admin, service.role, password);
  }
  await admin.transaction().execute(async (trx) => {
    await takeRolesLock(trx);
    await giveDatabase(trx, database, roles.owner);
    for (const object of await listForeignObjects(trx, roles.owner)) await giveObject(trx, object, roles.owner);
    // The owner of a schema public made before PostgreSQL 15 is the administrator, not the database's owner.
    await sql`revoke create on schema public from public`.execute(trx);
  });
}

/**
 * The owner's part, after the migration, in one transaction: nobody but the
 * service roles may connect, nobody but the owner may create anything, and each
 * service role holds exactly the privileges `roles` lists (whatever it held
 * before is revoked first, so a grant removed from the list is gone). `owner`
 * is connected to `database` acting as roles.owner. Idempotent.
 */
export async function grantServiceRoles(owner: Kysely<any>, database: string, roles: DatabaseRoles): Promise<void> {
  await owner.transaction().execute(async (trx) => {
    await takeRolesLock(trx);
    await sql`revoke all on database ${sql.id(database)} from public`.execute(trx);
    await sql`revoke create on schema public from public`.execute(trx);
    for (const service of roles.services) {
      await sql`grant connect on database ${sql.id(database)} to ${sql.id(service.role)}`.execute(trx);
      await sql`revoke all on all tables in schema public from ${sql.id(service.role)}`.execute(trx);
      await sql`revoke all on all sequences in schema public from ${sql.id(service.role)}`.execute(trx);
      await sql`revoke all on all functions in schema public from ${sql.id(service.role)}`.execute(trx);
      for (const routine of service.routines ?? [])
        await sql`grant execute on function ${sql.raw(routine)} to ${sql.id(service.role)}`.execute(trx);
      for (const [table, privileges] of Object.entries(service.tables)) {
        await sql`grant ${sql.raw(privileges.join(', '))} on table ${sql.id('public', table)} to ${sql.id(service.role)}`.execute(
          trx,
        );
      }
    }
  });
}
