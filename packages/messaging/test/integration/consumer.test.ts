import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import amqp from 'amqplib';
import { sql, type Kysely } from 'kysely';
import { PAYMENT_REQUESTED } from '@gozon/contracts';
import {
  createInboxFunctions,
  createMessagingTables,
  declareTopology,
  recordMessagingFailures,
  type MessagingTables,
} from '@gozon/messaging';
import { newId } from '@gozon/platform';
import {
  AMQP_URL,
  createTestBroker,
  createTestDatabase,
  launch,
  waitFor,
  type LaunchUntil,
  type LaunchedProcess,
  type TestBroker,
  type TestDatabase,
} from '@gozon/testkit';

// The inbox consumer as a process, as orchestrators see it: killed, restarted,
// starved of its database. The delivery limit must catch poison, not bad luck.

interface TestTables extends MessagingTables {
  applied: { message_id: string };
}

const consumer = suite('inbox consumer under deaths and failures');
let database: TestDatabase<TestTables>;
let broker: TestBroker;
let queue: string;
let deadLetters: string;

function startConsumer(env: Record<string, string> = {}, until: LaunchUntil = 'ready'): Promise<LaunchedProcess> {
  return launch({
    name: 'consumer',
    command: [process.execPath, 'packages/messaging/test/integration/fixtures/consumer-main.ts'],
    env: {
      DATABASE_URL: database.url,
      AMQP_URL,
      QUEUE: queue,
      DEAD_LETTER_EXCHANGE: broker.deadLetterExchange,
      ...env,
    },
    healthPortVariable: 'HEALTH_PORT',
    until,
  });
}

async function publishAll(kinds: string[]): Promise<string[]> {
  const ids = kinds.map(() => newId());
  for (const [i, kind] of kinds.entries())
    await broker.publish(PAYMENT_REQUESTED, { message_id: ids[i], kind }, ids[i]);
  return ids;
}

async function appliedIds(): Promise<string[]> {
  return (await database.db.selectFrom('applied').select('message_id').execute()).map((row) => row.message_id).sort();
}

/** Deliveries of the queue the broker counts as in hand and not acked (checkQueue counts only the ready ones). */
async function unacked(): Promise<number> {
  const { stdout } = await promisify(execFile)('rabbitmqctl', [
    'list_queues',
    '--quiet',
    '--no-table-headers',
    'name',
    'messages_unacknowledged',
  ]);
  const row = stdout.split('\n').find((line) => line.startsWith(`${queue}\t`));
  return Number(row?.split('\t')[1]);
}

/** Holds exclusive locks on `tables` until release() is called, as a long migration or a stuck session would. */
async function lockTables(...tables: Array<'applied' | 'inbox_attempt'>) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let locked!: () => void;
  const isLocked = new Promise<void>((resolve) => (locked = resolve));
  const holding = database.db.transaction().execute(async (trx) => {
    // A stuck session has no idle timeout: the pool's (the services' 20 s) would end this one, and its locks, while a
    // slow machine is still running the test's 21 lives against them.
    await sql`set local idle_in_transaction_session_timeout = 0`.execute(trx);
    await sql`lock table ${sql.join(tables.map((table) => sql.table(table)))} in access exclusive mode`.execute(trx);
    locked();
    await released;
  });
  await isLocked;
  return async () => {
    release();
    await holding;
  };
}

consumer.before(async () => {
  database = await createTestDatabase<TestTables>('consumer', {
    '0001_messaging': createMessagingTables,
    '0005_messaging_failures': recordMessagingFailures,
    '0006_inbox_functions': createInboxFunctions,
    // The test domain's inbox function: what is new to the inbox is applied by a row in `applied`.
    '0100_applied': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('applied')
          .addColumn('message_id', 'uuid', (c) => c.primaryKey())
          .execute();
        await sql`
          create function apply_messages(message_ids uuid[], message_types text[], settled uuid[])
          returns setof uuid language sql as $$
            insert into applied (message_id)
            select fresh.id from receive_messages(message_ids, message_types, settled) as fresh (id)
            returning message_id
          $$`.execute(db);
      },
    },
  });
  broker = await createTestBroker('consumer');
  queue = broker.queueOf('payments-worker', PAYMENT_REQUESTED);
  deadLetters = broker.deadLettersOf('payments-worker', PAYMENT_REQUESTED);
});

consumer.after.each(async () => {
  await database.db.deleteFrom('applied').execute();
  await broker.drain(deadLetters);
});

consumer.after(async () => {
  await broker.close();
  await database.drop();
});

consumer(
  'a message that kills its consumer is dead-lettered as poison after a few deaths; the others are applied once',
  async () => {
    const innocents = await publishAll(['fine', 'fine', 'fine', 'fine', 'fine']);
    const [poison] = await publishAll(['poison']);
    innocents.push(...(await publishAll(['fine', 'fine', 'fine', 'fine', 'fine'])));

    let deaths = 0;
    for (let life = 0; life < 10; life += 1) {
      // As an orchestrator does: start it again each time it dies, until the queue is settled.
      const process = await startConsumer({}, 'started');
      const watching = new AbortController();
      const settled = waitFor(
        'the queue settled',
        async () => (await broker.count(deadLetters)) === 1 && (await appliedIds()).length === innocents.length,
        20_000,
        watching.signal,
      ).then(() => true);
      const outcome = await Promise.race([settled, process.exited.then(() => false)]);
      // A death won the race: stop this life's poller before the next life starts (left running, it would poll the
      // dead-letter queue after the suite deleted it, and the broker closes the shared channel on that 404).
      watching.abort();
      await settled.catch(() => {});
      if (outcome) {
        assert.is(await process.stop(), 0);
        break;
      }
      deaths += 1;
    }
    assert.ok(
      deaths >= 2 && deaths <= 4,
      `the poison killed its consumer at most INBOX_MAX_ATTEMPTS + 1 = 4 times, not ${deaths}`,
    );
    const letters = await broker.drain(deadLetters);
    assert.equal(
      letters.map((l) => l.messageId),
      [poison],
      'only the poison is dead-lettered',
    );
    assert.match(String(letters[0]!.headers['x-error']), /PoisonMessageError/);
    assert.equal(await appliedIds(), [...innocents].sort(), 'every innocent message applied, each once');
    assert.is(await broker.count(queue), 0);
  },
);

consumer('21 kills of a consumer holding the same prefetched messages dead-letter none of them', async () => {
  const ids = await publishAll(Array.from({ length: 10 }, () => 'fine'));
  // The table the handler writes is locked: each life takes the messages and holds them, waiting. So is the
  // attempt count, so that no life, however fast, gets to count a try (a try that reached the handler would
  // count, by design): what is left to prove is that being redelivered 21 times blames no message.
  const release = await lockTables('applied', 'inbox_attempt');
  try {
    for (let kill = 0; kill < 21; kill += 1) {
      const process = await startConsumer({}, 'started');
      await waitFor('all ten in hand', async () => (await broker.count(queue)) === 0);
      await process.kill();
    }
  } finally {
    await release();
  }
  const last = await startConsumer();
  await waitFor('all ten applied', async () => (await appliedIds()).length === ids.length);
  assert.is(await last.stop(), 0);
  assert.equal(await appliedIds(), [...ids].sort());
  assert.is(await broker.count(deadLetters), 0, 'nothing dead-lettered');
});

consumer(
  'a transient failure is retried in-process while it lasts, never returned to the broker nor dead-lettered',
  async () => {
    const process = await startConsumer({ DB_LOCK_TIMEOUT_MS: '100' });
    const release = await lockTables('applied');
    const ids = await publishAll(['fine', 'fine', 'fine']);
    try {
      await waitFor('lock timeouts retried', async () => process.events('inbox.apply_retrying').length >= 5);
    } finally {
      await release();
    }
    await waitFor('all three applied', async () => (await appliedIds()).length === ids.length);
    const reports = process.events('consumer.report').map((line) => line.problem as string | null);
    assert.match(reports[0] ?? '', /lock timeout/, 'readiness hears the failure');
    assert.is(reports.at(-1), null, 'and that it is over');
    assert.ok(process.running(), 'the consumer never died');
    assert.not.ok(process.output().includes('"redelivered"'), 'nothing came back');
    assert.is(await process.stop(), 0);
    assert.is(await broker.count(deadLetters), 0);
  },
);

consumer('tries of a redelivered message that the database cut short are not counted against it', async () => {
  const [id] = await publishAll(['fine']);
  const release = await lockTables('applied');
  try {
    const first = await startConsumer({ DB_LOCK_TIMEOUT_MS: '200' });
    await waitFor('it in hand', async () => first.events('inbox.apply_retrying').length > 0);
    await first.kill();
    // Redelivered now: each try that reaches the handler counts, and the lock timeout that ends it takes it back.
    const second = await startConsumer({ DB_LOCK_TIMEOUT_MS: '200' });
    await waitFor('five tries cut short', async () => second.events('inbox.apply_retrying').length >= 5);
    const row = await database.db
      .selectFrom('inbox_attempt')
      .select('attempts')
      .where('message_id', '=', id!)
      .executeTakeFirst();
    assert.ok((row?.attempts ?? 0) <= 1, `at most the try under way is counted, not ${row?.attempts}`);
    await release();
    await waitFor('applied', async () => (await appliedIds()).length === 1);
    assert.is(await second.stop(), 0);
  } finally {
    await release();
  }
  assert.equal(
    await database.db.selectFrom('inbox_attempt').selectAll().execute(),
    [],
    'its count forgotten once applied',
  );
  assert.is(await broker.count(deadLetters), 0);
});

consumer(
  'a batch that fails for no message of its own gives up the session, so its deliveries go back to the queue',
  async () => {
    const [id] = await publishAll(['parse-bug']);
    const process = await startConsumer({}, 'started');
    assert.is(await process.exited, 3, 'the session given up');
    assert.match(process.output(), /"event":"consumer\.lost"[^\n]*a handler bug/);
    await waitFor('the delivery back in the queue', async () => (await broker.count(queue)) === 1);
    assert.equal(
      (await broker.drain(queue)).map((m) => m.messageId),
      [id],
    );
    assert.is(await broker.count(deadLetters), 0);
  },
);

consumer(
  'deliveries in hand when their queue is deleted are applied before the consumer gives up its session',
  async () => {
    const ids = await publishAll(Array.from({ length: 10 }, () => 'fine'));
    const release = await lockTables('applied');
    const process = await startConsumer();
    try {
      await waitFor('all ten in hand', async () => (await broker.count(queue)) === 0);
      const connection = await amqp.connect(AMQP_URL);
      await (await connection.createChannel()).deleteQueue(queue);
      await connection.close();
      await waitFor('the cancel heard', async () => process.events('inbox.cancelled_by_broker').length > 0);
    } finally {
      await release();
    }
    assert.is(await process.exited, 3, 'the session given up (onLost) only after');
    assert.equal(await appliedIds(), [...ids].sort(), 'nothing that was in hand is lost');
    const connection = await amqp.connect(AMQP_URL);
    await declareTopology(connection, broker.namespace);
    await connection.close();
  },
);

consumer(
  'a message applied alone is acked without waiting for others: nothing stays in hand at the broker',
  async () => {
    const process = await startConsumer();
    // One message, less than a batch: its ack leaves on its own, ACK_WITHIN_MS after the commit.
    await publishAll(['fine']);
    await waitFor('the message applied', async () => (await appliedIds()).length === 1);
    await waitFor('its ack at the broker', async () => (await unacked()) === 0);
    assert.is(await process.stop(), 0);
  },
);

consumer.run();
