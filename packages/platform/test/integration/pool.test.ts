import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { createPool, databaseSettings, isTransientError, readConfig } from '@gozon/platform';
import { POSTGRES_URL } from '@gozon/testkit';

// Found by the fault suite: a PostgreSQL restart killed every service, because
// a connection checked out between two statements of a transaction reported its
// death as an 'error' event nobody listened to.

const pool = suite('a pooled connection that dies while checked out');

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

pool.run();
