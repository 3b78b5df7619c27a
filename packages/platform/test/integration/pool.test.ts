import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import {
  PREPARED_STATEMENTS_PER_CONNECTION,
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

const pool = suite('pooled connections: a death while checked out, server options, prepared statements');

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

pool('server options given to the pool are in force on every connection it opens, and only on its own', async () => {
  const config = readConfig(databaseSettings('postgres'), {
    DATABASE_URL: `${POSTGRES_URL}/postgres`,
    DB_POOL_SIZE: '2',
  });
  const relaying = createPool(config, () => {}, 'pool-test', '-c enable_bitmapscan=off');
  const plain = createPool(config, () => {}, 'pool-test');
  try {
    // Two connections checked out at once: both were opened with the option.
    const clients = await Promise.all([relaying.connect(), relaying.connect()]);
    for (const client of clients) {
      assert.is((await client.query('show enable_bitmapscan')).rows[0].enable_bitmapscan, 'off');
      client.release();
    }
    assert.is((await plain.query('show enable_bitmapscan')).rows[0].enable_bitmapscan, 'on');
  } finally {
    await Promise.all([relaying.end(), plain.end()]);
  }
});

pool(
  'a statement with parameters is prepared once per connection, up to the cap; past it, texts run unnamed',
  async () => {
    const subject = createPool(
      readConfig(databaseSettings('postgres'), { DATABASE_URL: `${POSTGRES_URL}/postgres`, DB_POOL_SIZE: '1' }),
      () => {},
      'pool-test',
    );
    const preparedHere = async () =>
      Number((await subject.query('select count(*) as n from pg_prepared_statements')).rows[0].n);
    try {
      for (let i = 0; i < 3; i += 1)
        assert.is((await subject.query('select $1::int + 1 as next', [i])).rows[0].next, i + 1);
      assert.is(await preparedHere(), 1, 'three runs of one text: one prepared statement');
      for (let n = 0; n <= PREPARED_STATEMENTS_PER_CONNECTION; n += 1)
        assert.is((await subject.query(`select $1::int + ${n} as sum`, [1])).rows[0].sum, n + 1);
      assert.is(await preparedHere(), PREPARED_STATEMENTS_PER_CONNECTION, 'no more than the cap');
      assert.is(
        (await subject.query('select $1::int + 1 as next', [41])).rows[0].next,
        42,
        'a prepared text still runs',
      );
    } finally {
      await subject.end();
    }
  },
);

pool('a migration that changes what a prepared statement returns costs one transient failure, then works', async () => {
  const subject = createPool(
    readConfig(databaseSettings('postgres'), { DATABASE_URL: `${POSTGRES_URL}/postgres`, DB_POOL_SIZE: '1' }),
    () => {},
    'pool-test',
  );
  const table = `pool_test_${process.pid}`;
  const selectRow = () => subject.query(`select * from ${table} where id = $1`, [1]);
  try {
    await subject.query(`create table ${table} (id int primary key)`);
    await subject.query(`insert into ${table} values (1)`);
    assert.equal((await selectRow()).rows, [{ id: 1 }]);
    await subject.query(`alter table ${table} add column note text default 'added'`);
    const stale = await selectRow().then(
      () => undefined,
      (error: Error) => error,
    );
    assert.ok(stale, 'the prepared statement is stale');
    assert.ok(isTransientError(stale), `and that is transient: ${stale.message}`);
    assert.equal((await selectRow()).rows, [{ id: 1, note: 'added' }], 'the next try sees the new column');
  } finally {
    await subject.query(`drop table if exists ${table}`).catch(() => {});
    await subject.end();
  }
});

pool.run();
