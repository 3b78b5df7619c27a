import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { setTimeout as sleep } from 'node:timers/promises';
import amqp from 'amqplib';
import { sql } from 'kysely';
import { PAYMENT_REQUESTED } from '@gozon/contracts';
import {
  countUnsent,
  declareTopology,
  relayBatch,
  listFailedOutbox,
  recordMessagingFailures,
  retryFailedOutbox,
  purgeReceived,
  purgeSent,
  createMessagingTables,
  leaseOutbox,
  relayOutbox,
  startOutboxRelay,
  type MessagingTables,
} from '@gozon/messaging';
import {
  createListenClient,
  createLogger,
  newId,
  purgeInChunks,
  startRetention,
  type Stoppable,
} from '@gozon/platform';
import {
  AMQP_URL,
  createTestBroker,
  createTestDatabase,
  waitFor,
  type TestBroker,
  type TestDatabase,
} from '@gozon/testkit';

const logger = createLogger('relay-test', 'error');
const relay = suite('outbox relay');

let database: TestDatabase<MessagingTables>;
let broker: TestBroker;
let connection: amqp.ChannelModel;
const running: Array<{ relay: Stoppable; close(): Promise<void> }> = [];

async function startRelay(options: { pollIntervalMs?: number; batchSize?: number } = {}) {
  const listener = createListenClient(database.url, 'relay-test');
  await listener.connect();
  const channel = await connection.createConfirmChannel();
  const started = await startOutboxRelay({
    db: database.db,
    listener,
    channel,
    exchange: broker.exchange,
    batchSize: options.batchSize ?? 100,
    lingerMs: 5,
    pollIntervalMs: options.pollIntervalMs ?? 200,
    confirmTimeoutMs: 10_000,
    maxAttempts: 5,
    redeclareTopology: () => declareTopology(connection, broker.namespace),
    onChannelLost: (error) => {
      throw error;
    },
    report: () => {},
    logger,
  });
  const handle = {
    relay: started,
    async close() {
      await started.stop();
      await channel.close();
      await listener.end();
    },
  };
  running.push(handle);
  return handle;
}

async function stopRelays() {
  for (const handle of running.splice(0)) await handle.close();
}

async function insertRequests(count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, () => newId());
  for (let i = 0; i < ids.length; i += 250) {
    await database.db
      .insertInto('outbox_message')
      .values(
        ids
          .slice(i, i + 250)
          .map((id) => ({ id, type: PAYMENT_REQUESTED, body: JSON.stringify({ message_id: id }), traceparent: null })),
      )
      .execute();
  }
  return ids;
}

/** An outbox row of a type no queue is bound for: every publish of it comes back unroutable. */
async function insertUnroutable(id: string): Promise<string> {
  await database.db
    .insertInto('outbox_message')
    .values({ id, type: 'nobody.listens', body: '{}', traceparent: null })
    .execute();
  return id;
}

relay.before(async () => {
  database = await createTestDatabase<MessagingTables>('relay', {
    '0001_messaging': createMessagingTables,
    '0005_messaging_failures': recordMessagingFailures,
    '0009_outbox_lease': leaseOutbox,
  });
  broker = await createTestBroker('relay');
  connection = await amqp.connect(AMQP_URL);
});

relay.after.each(async () => {
  await stopRelays();
  await broker.drain(broker.queueOf('payments-worker', PAYMENT_REQUESTED));
});

relay.after(async () => {
  await stopRelays();
  await connection.close();
  await broker.close();
  await database.drop();
});

relay('two relays over 1,000 rows publish each row exactly once', async () => {
  const ids = await insertRequests(1000);
  await Promise.all([startRelay(), startRelay()]);
  const queue = broker.queueOf('payments-worker', PAYMENT_REQUESTED);
  await waitFor('every row marked sent', async () => (await countUnsent(database.db)) === 0);
  await waitFor('1,000 messages in the queue', async () => (await broker.count(queue)) >= 1000);
  const received = await broker.drain(queue);
  assert.is(received.length, 1000, 'no row published twice');
  assert.equal(new Set(received.map((m) => m.messageId)).size, 1000);
  assert.equal(new Set(received.map((m) => m.messageId)), new Set(ids));
});

relay('a new row is published on NOTIFY, without waiting for the poll', async () => {
  await startRelay({ pollIntervalMs: 60_000 });
  const [id] = await insertRequests(1);
  const queue = broker.queueOf('payments-worker', PAYMENT_REQUESTED);
  // The poll fallback is a minute away: only the notification can deliver this in time.
  await waitFor('the message to arrive', async () => (await broker.count(queue)) === 1, 10_000);
  const [message] = await broker.drain(queue);
  assert.is(message?.messageId, id);
});

relay('rows stay unsent while nothing can take them, and go out once a relay runs', async () => {
  const ids = await insertRequests(5);
  assert.is(await countUnsent(database.db), 5);
  await startRelay();
  await waitFor('rows sent', async () => (await countUnsent(database.db)) === 0);
  const received = await broker.drain(broker.queueOf('payments-worker', PAYMENT_REQUESTED));
  assert.equal(received.map((m) => m.messageId).sort(), [...ids].sort());
});

relay('sent rows are purged after the retention', async () => {
  await insertRequests(20);
  await startRelay();
  // As a worker runs it beside its relay (runMessagingWorker).
  const retention = startRetention(
    [{ table: 'outbox_message', intervalMs: 1000, deleteChunk: (limit) => purgeSent(database.db, 0, limit) }],
    logger,
  );
  try {
    await waitFor('sent rows purged', async () => {
      const row = await database.db
        .selectFrom('outbox_message')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n) === 0;
    });
  } finally {
    await retention.stop();
  }
});

relay('the purge deletes every sent row past the retention, however many chunks that takes', async () => {
  await insertRequests(25);
  await database.db
    .updateTable('outbox_message')
    .set({ sent_at: new Date(Date.now() - 120_000) })
    .execute();
  await insertRequests(3);
  await database.db.updateTable('outbox_message').set({ sent_at: new Date() }).where('sent_at', 'is', null).execute();
  assert.is(
    await purgeInChunks(
      (limit) => purgeSent(database.db, 60, limit),
      10,
      () => false,
    ),
    25,
  );
  const left = await database.db
    .selectFrom('outbox_message')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  assert.is(Number(left.n), 3, 'rows sent within the retention stay');
});

relay('the inbox forgets message ids received before its retention, and keeps the rest', async () => {
  const old = Array.from({ length: 25 }, () => ({
    message_id: newId(),
    type: PAYMENT_REQUESTED,
    received_at: new Date(Date.now() - 3 * 3600_000),
  }));
  const recent = Array.from({ length: 4 }, () => ({ message_id: newId(), type: PAYMENT_REQUESTED }));
  await database.db
    .insertInto('inbox_message')
    .values([...old, ...recent])
    .execute();
  assert.is(
    await purgeInChunks(
      (limit) => purgeReceived(database.db, 2, limit),
      10,
      () => false,
    ),
    25,
  );
  const left = await database.db.selectFrom('inbox_message').select('message_id').execute();
  assert.equal(left.map((row) => row.message_id).sort(), recent.map((m) => m.message_id).sort());
});

relay('a row no queue takes is set aside after its attempts, and the rows behind it flow', async () => {
  // The oldest id of all, so that it comes first in every claim.
  const poison = await insertUnroutable('00000000-0000-7000-8000-000000000001');
  const ids = await insertRequests(10);
  await startRelay();
  const queue = broker.queueOf('payments-worker', PAYMENT_REQUESTED);
  await waitFor('the rows behind it sent', async () => (await broker.count(queue)) >= 10);
  await waitFor('the row set aside', async () => (await listFailedOutbox(database.db, 10)).length === 1);
  const [failed] = await listFailedOutbox(database.db, 10);
  assert.is(failed!.id, poison);
  assert.is(failed!.attempts, 5);
  assert.match(failed!.last_error ?? '', /unroutable/);
  assert.is(await countUnsent(database.db), 1, 'only the poison row is unsent');
  assert.equal(
    (await broker.drain(queue)).map((m) => m.messageId).sort(),
    [...ids].sort(),
    'each row behind it published once',
  );

  assert.is(await retryFailedOutbox(database.db, [poison]), 1, 'an operator puts it back in line');
  await waitFor(
    'set aside again after its new attempts',
    async () => (await listFailedOutbox(database.db, 10)).length === 1,
  );
  await database.db.deleteFrom('outbox_message').where('id', '=', poison).execute();
});

relay('a deleted queue is declared again, and the rows that came back go out', async () => {
  await startRelay();
  const queue = broker.queueOf('payments-worker', PAYMENT_REQUESTED);
  const admin = await connection.createChannel();
  await admin.deleteQueue(queue);
  await admin.close();
  const ids = await insertRequests(3);
  await waitFor('every row sent', async () => (await countUnsent(database.db)) === 0);
  assert.equal((await broker.drain(queue)).map((m) => m.messageId).sort(), [...ids].sort());
  assert.equal(await listFailedOutbox(database.db, 10), [], 'nothing set aside for it');
});

relay(
  'a closed channel fails the whole batch: no row is counted against, none set aside, all free at once',
  async () => {
    const ids = await insertRequests(3);
    const channel = await connection.createConfirmChannel();
    await channel.close();
    const batch = relayBatch(
      {
        db: database.db,
        channel,
        exchange: broker.exchange,
        batchSize: 10,
        confirmTimeoutMs: 1000,
        maxAttempts: 1,
        leaseMs: 60_000,
      },
      { ids: [] },
    );
    await batch.then(
      () => assert.unreachable('the batch must fail'),
      (error: Error) => assert.match(error.message, /closed/i),
    );
    const rows = await database.db
      .selectFrom('outbox_message')
      .select(['attempts', 'failed_at'])
      .where('id', 'in', ids)
      .execute();
    assert.equal(
      rows,
      ids.map(() => ({ attempts: 0, failed_at: null })),
    );
    const again = await relayOutbox(database.db, [], 10, 60_000);
    assert.equal(
      again.map((row) => row.id),
      [...ids].sort(),
      'the next claim takes them without waiting out the lease',
    );
    await database.db.deleteFrom('outbox_message').where('id', 'in', ids).execute();
  },
);

relay('a failure after the publish keeps the confirmed ids owed, for the next call to mark', async () => {
  const poison = await insertUnroutable('00000000-0000-7000-8000-000000000002');
  const [id] = await insertRequests(1);
  // Counting the unroutable row's attempt fails, after the other row was published and confirmed.
  await sql`create function refuse_attempts() returns trigger language plpgsql as $$
    begin raise exception 'attempts refused'; end $$`.execute(database.db);
  await sql`create trigger refuse_attempts before update of attempts on outbox_message
    for each row execute function refuse_attempts()`.execute(database.db);
  const channel = await connection.createConfirmChannel();
  const unmarked = { ids: [] as readonly string[] };
  try {
    await relayBatch(
      {
        db: database.db,
        channel,
        exchange: broker.exchange,
        batchSize: 10,
        confirmTimeoutMs: 10_000,
        maxAttempts: 5,
        leaseMs: 60_000,
      },
      unmarked,
    ).then(
      () => assert.unreachable('the batch must fail'),
      (error: Error) => assert.match(error.message, /attempts refused/),
    );
  } finally {
    await sql`drop trigger refuse_attempts on outbox_message`.execute(database.db);
    await sql`drop function refuse_attempts()`.execute(database.db);
    await channel.close();
  }
  assert.equal(unmarked.ids, [id], 'still owed');
  await relayOutbox(database.db, unmarked.ids, 0, 60_000);
  assert.is(await countUnsent(database.db), 1, 'marked by the next call; only the unroutable row is left');
  await database.db.deleteFrom('outbox_message').where('id', 'in', [poison, id!]).execute();
});

relay('a claimed row is no other relay’s until its lease lapses, and marked sent it is no one’s', async () => {
  // Ids made in one millisecond are not in the order made: the claim's order is the ids'.
  const [held, lapsing] = (await insertRequests(2)).sort();
  const first = await relayOutbox(database.db, [], 1, 60_000);
  assert.equal(
    first.map((row) => row.id),
    [held],
    'oldest first',
  );
  const second = await relayOutbox(database.db, [], 10, 1);
  assert.equal(
    second.map((row) => row.id),
    [lapsing],
    'a relay dead after its claim keeps the row from the others while the lease holds',
  );
  await sleep(20);
  const third = await relayOutbox(database.db, [lapsing!], 10, 60_000);
  assert.equal(third, [], 'the row is marked sent before the claim, so its lapsed lease does not send it again');
  assert.is(await countUnsent(database.db), 1);
  await database.db.deleteFrom('outbox_message').where('id', 'in', [held!, lapsing!]).execute();
});

relay('a lapsed lease gives the row, unmarked, to the next claim', async () => {
  const [id] = await insertRequests(1);
  assert.is((await relayOutbox(database.db, [], 10, 1)).length, 1);
  await sleep(20);
  assert.equal(
    (await relayOutbox(database.db, [], 10, 60_000)).map((row) => row.id),
    [id],
    'a relay that died before its mark: the row goes out again',
  );
  await database.db.deleteFrom('outbox_message').where('id', '=', id!).execute();
});

relay('a stopping relay marks sent what it published: a relay started after it sends nothing again', async () => {
  // No poll before the stop: the marks of the last batch go with the stop, not with a later claim.
  await startRelay({ pollIntervalMs: 60_000 });
  const ids = await insertRequests(3);
  const queue = broker.queueOf('payments-worker', PAYMENT_REQUESTED);
  await waitFor('three messages in the queue', async () => (await broker.count(queue)) === 3);
  await stopRelays();
  assert.is(await countUnsent(database.db), 0);
  // Marked, not merely leased: with every lease gone, no claim takes them.
  await database.db.updateTable('outbox_message').set({ lease_until: null }).execute();
  await startRelay();
  await insertRequests(1);
  await waitFor('the new row sent', async () => (await countUnsent(database.db)) === 0);
  const received = await broker.drain(queue);
  assert.is(received.length, 4, 'the three once each, and the new one');
  assert.equal(new Set(received.map((m) => m.messageId)).size, 4);
  assert.ok(ids.every((id) => received.some((m) => m.messageId === id)));
});

relay.run();
