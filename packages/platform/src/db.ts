import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { integer, type DatabaseConfig } from './config.ts';

const INT8_OID = 20;

// Money columns are bigint kopecks; pg hands int8 back as text unless told, and a
// JavaScript number would lose exactness past 2^53.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): unknown =>
    oid === INT8_OID
      ? (value: string) => BigInt(value)
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

// pg's query_timeout fails the caller but leaves the connection waiting for
// the reply, and the next query on it (the transaction's rollback, the next
// checkout's) would wait behind. Such a connection is cut, as a network would
// cut it: what is queued on it fails as a lost connection (transient), the
// server rolls back what it had begun, and the pool drops it on release.
const QUERY_READ_TIMEOUT = 'Query read timeout';

/**
 * Distinct statement texts each connection prepares, at most. A text seen once
 * is prepared (parsed, and planned by PostgreSQL's plan cache) once per
 * connection, not on every execution: `node scripts/statement-cost.ts` measured
 * ~30 % less of the backend's CPU per outbox round on 2026-12-01 (440–494
 * against 648–676 µs) and less of the client's. A text with an IN list or a
 * VALUES list differs with its batch's size, so the caps bound what a
 * long-lived connection keeps in its backend (100 variants of a 500-id IN list
 * held 15.7 MB of plan cache, against 1.9 MB unnamed): texts past the count,
 * and statements of more than PREPARED_MAX_PARAMETERS parameters (big batches,
 * whose planning the batch pays for once anyway), run unnamed, as before.
 */
export const PREPARED_STATEMENTS_PER_CONNECTION = 100;
export const PREPARED_MAX_PARAMETERS = 32;

/**
 * Errors after which a connection's prepared statements cannot be trusted, so
 * the connection is cut (as for a read timeout) and the failure is transient
 * (isTransientError): the pool's next connection prepares anew.
 * - 0A000, "cached plan must not change result type": a migration changed the
 *   columns a prepared statement returns (a column added to a table it reads
 *   with `select *`); every later execution on that connection would fail.
 * - 26000, a prepared statement that does not exist: pg 8 sends Parse before it
 *   converts the values, and a value it cannot convert (a BigInt inside a JSON
 *   object) has it close the statement while it still counts it as parsed.
 * - an error that is not PostgreSQL's (no SQLSTATE) from a named statement:
 *   that conversion failure itself, after which the next run would meet 26000.
 */
function spoilsPreparedStatements(error: Error & { code?: unknown }): boolean {
  return error.code === '0A000' || error.code === '26000' || typeof error.code !== 'string';
}

class BoundedClient extends pg.Client {
  readonly #names = new Map<string, string>();

  /** A statement with parameters goes as a named prepared statement while the caps allow (see above). */
  #named(text: string, values: unknown[]): { name: string; text: string; values: unknown[] } | undefined {
    if (values.length > PREPARED_MAX_PARAMETERS) return undefined;
    let name = this.#names.get(text);
    if (name === undefined) {
      if (this.#names.size >= PREPARED_STATEMENTS_PER_CONNECTION) return undefined;
      name = `gozon_${createHash('sha1').update(text).digest('base64url')}`;
      this.#names.set(text, name);
    }
    return { name, text, values };
  }

  /**
   * Cuts the connection: what is queued on it fails as a lost connection, and
   * the pool drops it on release — at once, not when the socket's close event
   * comes (pg-pool reads `_queryable`, pg's own flag, when a client is released).
   */
  #cut() {
    (this as unknown as { _queryable: boolean })._queryable = false;
    this.connection.stream.destroy();
  }

  override query(...args: unknown[]): any {
    const [text, values, ...callback] = args;
    let named = false;
    if (typeof text === 'string' && Array.isArray(values) && values.length > 0) {
      const statement = this.#named(text, values);
      if (statement) {
        args = [statement, ...callback];
        named = true;
      }
    }
    const result = (super.query as (...a: unknown[]) => unknown)(...args);
    if (result instanceof Promise) {
      result.catch((error: unknown) => {
        if (!(error instanceof Error)) return;
        if (error.message === QUERY_READ_TIMEOUT || (named && spoilsPreparedStatements(error))) this.#cut();
      });
    }
    return result;
  }
}

/** On the client, a statement is given up this long after the server would have cancelled it: its reply has had time to arrive. */
export const QUERY_TIMEOUT_MARGIN_MS = 1000;

/**
 * A pool whose connections name their service (application_name), so that
 * pg_stat_activity — and the benchmark's CPU per process — tells whose they are;
 * and whose connections may die under it (the database restarts, a backend is
 * terminated) without taking the process along: pg emits such a death as an
 * 'error' event on the client — the pool listens only while a client is idle, so
 * a client checked out between two queries of a transaction would crash the
 * process. The query that follows fails instead, as a transient error.
 *
 * Every wait on PostgreSQL is bounded by `config` (milliseconds): a checkout, or
 * a new connection, by DB_CONNECTION_TIMEOUT_MS ("timeout exceeded when trying to
 * connect"); a statement by the server's statement_timeout (SQLSTATE 57014) and,
 * waiting for a lock, lock_timeout (55P03) — either way the server rolls its
 * transaction back; a server or network that stops answering by query_timeout on
 * the client, QUERY_TIMEOUT_MARGIN_MS later ("Query read timeout", and the
 * connection is cut); and a transaction its client left open by
 * idle_in_transaction_session_timeout (25P03), which ends the session and
 * releases its locks. Each of these errors is transient (isTransientError).
 */
export function createPool(
  config: DatabaseConfig,
  onConnectionLost: (error: Error) => void,
  applicationName: string,
): pg.Pool {
  const pool = new pg.Pool({
    Client: BoundedClient,
    connectionString: config.DATABASE_URL,
    max: config.DB_POOL_SIZE,
    types,
    application_name: applicationName,
    connectionTimeoutMillis: config.DB_CONNECTION_TIMEOUT_MS,
    statement_timeout: config.DB_STATEMENT_TIMEOUT_MS,
    lock_timeout: config.DB_LOCK_TIMEOUT_MS,
    query_timeout: config.DB_STATEMENT_TIMEOUT_MS + QUERY_TIMEOUT_MARGIN_MS,
    idle_in_transaction_session_timeout: config.DB_IDLE_IN_TRANSACTION_SESSION_TIMEOUT_MS,
  });
  pool.on('error', onConnectionLost);
  pool.on('connect', (client) => {
    client.on('error', onConnectionLost);
  });
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

/**
 * Ends a LISTEN client and resolves within `timeoutMs`, never rejecting. pg's
 * end() sends Terminate and waits for the server to close its side; a peer
 * that went silent (a partition, a stalled server) never does, so end() alone
 * could wait for ever (node-postgres issue 1779). Past the bound the socket is
 * destroyed: the connection is gone on this side at once.
 */
export async function closeListenClient(client: pg.Client, timeoutMs: number): Promise<void> {
  const bound = new AbortController();
  const late = sleep(timeoutMs, 'late', { signal: bound.signal, ref: false }).catch(() => undefined);
  try {
    if ((await Promise.race([client.end().catch(() => undefined), late])) === 'late')
      client.connection.stream.destroy();
  } finally {
    bound.abort();
  }
}

/**
 * LISTEN_PING_MS: how often a process pings its LISTEN connection
 * (untilListenSilent). Declared once for every service that listens.
 */
export const listenPingSetting = integer(
  5000,
  'wait between pings of the LISTEN connection; one unanswered within DB_CONNECTION_TIMEOUT_MS counts as the connection lost',
  { min: 100, max: 60000 },
);

/**
 * Pings a connected LISTEN client with `select 1` every `intervalMs` and
 * resolves, with why, once a ping fails or is not answered within
 * `timeoutMs`. A LISTEN connection sends nothing of its own, so one that died
 * silently (a partition, a stalled server, a dropped NAT entry: no FIN, no
 * RST) would otherwise never fail: with this, its death is noticed within
 * intervalMs + timeoutMs. Rejects (AbortError) when `signal` aborts; its
 * timers keep no process alive.
 */
export async function untilListenSilent(
  client: pg.Client,
  options: { intervalMs: number; timeoutMs: number; signal: AbortSignal },
): Promise<unknown> {
  const { intervalMs, timeoutMs, signal } = options;
  for (;;) {
    await sleep(intervalMs, undefined, { signal, ref: false });
    const answer = client.query('select 1').then(
      () => 'answered',
      (error: unknown) => error,
    );
    const heard = await Promise.race([answer, sleep(timeoutMs, 'silent', { signal, ref: false })]);
    if (heard === 'silent') return new Error(`no answer to a ping within ${timeoutMs} ms`);
    if (heard !== 'answered') return heard;
  }
}
