import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { sql } from 'kysely';
import {
  PREPARED_MAX_PARAMETERS,
  PREPARED_STATEMENTS_PER_CONNECTION,
  createDb,
  createPool,
  databaseSettings,
  isTransientError,
  readConfig,
} from '@gozon/platform';
import { POSTGRES_URL } from '@gozon/testkit';

// createPool's connections. The first test was found by the fault suite: a
// PostgreSQL restart killed every service, because a connection checked out
// between two statements of a transaction reported its death as an 'error'
// event nobody listened to.

const pool = suite('pooled connections: a death while checked out, prepared statements');

pool('is reported, does not crash the process, and its next query fails as transient', async () => {
  const lost: Error[] = [];
  const subject = createPool(
    readConfig(databaseSettings('postgres'), { DATABASE_URL: `${POSTGRES_URL}/postgres`, DB_POOL_SIZE: '2' }),
    (error) => lost.push(error),
    'pool-test',
  );
  const client = await subject.connect();
  await client.query('begin');
  const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');

  const admin = new pg.Client({ connectionString: `${POSTGRES_URL}/postgres` });
  await admin.connect();
  await admin.query('select pg_terminate_backend($1)', [rows[0]!.pid]);
  await admin.end();
  await sleep(200);

  assert.ok(lost.length >= 1, 'the death was reported');
  assert.match(lost[0]!.message, /terminating connection/);
  const next = await client.query('select 1').then(
    () => undefined,
    (error: Error) => error,
  );
  assert.ok(next && isTransientError(next), `the next query fails as transient: ${next?.message}`);
  client.release(true);
  const fresh = await subject.query('select 1 as one');
  assert.is(fresh.rows[0].one, 1, 'the pool goes on with a new connection');
  await subject.end();
});

/** A pool of one connection on the tests' postgres database, and Kysely over it, as the services have. */
function onePool() {
  const pool = createPool(
    readConfig(databaseSettings('postgres'), { DATABASE_URL: `${POSTGRES_URL}/postgres`, DB_POOL_SIZE: '1' }),
    () => {},
    'pool-test',
  );
  return { pool, db: createDb<any>(pool) };
}

const failureOf = (attempt: Promise<unknown>) =>
  attempt.then(
    () => undefined,
    (error: Error) => error,
  );

pool(
  'a statement with parameters is prepared once per connection, up to the caps; past them, statements run unnamed',
  async () => {
    const { pool: subject, db } = onePool();
    const preparedHere = async () =>
      Number((await subject.query('select count(*) as n from pg_prepared_statements')).rows[0].n);
    try {
      for (let i = 0; i < 3; i += 1)
        assert.is((await subject.query('select $1::int + 1 as next', [i])).rows[0].next, i + 1);
      assert.is(await preparedHere(), 1, 'three runs of one text: one prepared statement');
      const many = Array.from({ length: PREPARED_MAX_PARAMETERS + 1 }, (_, i) => i);
      const { rows } = await sql<{ n: number }>`select cardinality(array[${sql.join(many)}]::int[]) as n`.execute(db);
      assert.equal(rows, [{ n: PREPARED_MAX_PARAMETERS + 1 }]);
      assert.is(await preparedHere(), 1, `more than ${PREPARED_MAX_PARAMETERS} parameters: not prepared`);
      for (let n = 0; n <= PREPARED_STATEMENTS_PER_CONNECTION; n += 1)
        assert.is((await subject.query(`select $1::int + ${n} as sum`, [1])).rows[0].sum, n + 1);
      assert.is(await preparedHere(), PREPARED_STATEMENTS_PER_CONNECTION, 'no more texts than the cap');
      assert.is(
        (await subject.query('select $1::int + 1 as next', [41])).rows[0].next,
        42,
        'a prepared text still runs',
      );
    } finally {
      await db.destroy();
    }
  },
);

pool('a migration that changes what a prepared statement returns costs one transient failure, then works', async () => {
  const { db } = onePool();
  const table = sql.table(`pool_test_${process.pid}`);
  const selectRow = () => sql`select * from ${table} where id = ${1}`.execute(db);
  try {
    await sql`create table ${table} (id int primary key)`.execute(db);
    await sql`insert into ${table} values (1)`.execute(db);
    assert.equal((await selectRow()).rows, [{ id: 1 }]);
    await sql`alter table ${table} add column note text default 'added'`.execute(db);
    const stale = await failureOf(selectRow());
    assert.ok(stale, 'the prepared statement is stale');
    assert.ok(isTransientError(stale), `and that is transient: ${stale.message}`);
    assert.equal((await selectRow()).rows, [{ id: 1, note: 'added' }], 'the next try sees the new column');
  } finally {
    await sql`drop table if exists ${table}`.execute(db).catch(() => {});
    await db.destroy();
  }
});

pool('a value pg cannot send fails its statement alone: the same statement runs on the next try', async () => {
  const { db } = onePool();
  const asJson = (value: unknown) => sql<{ value: unknown }>`select ${value}::jsonb as value`.execute(db);
  try {
    assert.equal((await asJson({ amount: 1 })).rows, [{ value: { amount: 1 } }], 'prepared on this connection');
    const unsendable = await failureOf(asJson({ amount: 1n }));
    assert.ok(unsendable, 'a BigInt inside a JSON value cannot be sent');
    assert.not.ok(isTransientError(unsendable), `bad data, not a condition: ${unsendable.message}`);
    assert.equal((await asJson({ amount: 2 })).rows, [{ value: { amount: 2 } }], 'the next try runs');
  } finally {
    await db.destroy();
  }
});

pool.run();
