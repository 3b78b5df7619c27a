// What it costs to bound the outbox claim, two ways (issue 11, kind 1): the
// relay's way, the claim held open across the publish (FOR UPDATE SKIP LOCKED,
// bounded by the confirm timeout and idle_in_transaction_session_timeout), and
// a lease (graphile-worker's way): the claim commits a lease before the publish,
// the mark is a second transaction, and a relay that dies leaves a lease that
// expires rather than a lock. One relay drains the same backlog each way, on a
// database and broker namespace of its own, at a full batch and at a small one.
//   node scripts/claim-bench.ts [rows=20000]
import { sql, type Kysely } from 'kysely';
import { PAYMENT_REQUESTED } from '@gozon/contracts';
import {
  RELAY_SESSION_SETTINGS,
  connectAmqp,
  createMessagingTables,
  markSent,
  publishConfirmed,
  recordMessagingFailures,
  relayBatch,
  type MessagingTables,
} from '@gozon/messaging';
import { newId } from '@gozon/platform';
import { AMQP_URL, createTestBroker, createTestDatabase } from '@gozon/testkit';

const ROWS = Number(process.argv[2] ?? 20_000);
const CONFIRM_TIMEOUT_MS = 10_000;

// The relay's pool settings (worker.ts), so that the claim reads as in production.
const database = await createTestDatabase<MessagingTables>(
  'claim_bench',
  {
    '0001_messaging': createMessagingTables,
    '0005_messaging_failures': recordMessagingFailures,
    '0100_lease': {
      async up(db: Kysely<any>) {
        await sql`alter table outbox_message add column leased_until timestamptz`.execute(db);
      },
    },
  },
  RELAY_SESSION_SETTINGS,
);
const broker = await createTestBroker('claim-bench');
const connection = await connectAmqp(AMQP_URL, 'claim-bench');
const channel = await connection.createConfirmChannel();
const queue = broker.queueOf('payments-worker', PAYMENT_REQUESTED);

async function fillOutbox() {
  for (let i = 0; i < ROWS; i += 1000) {
    const rows = Array.from({ length: Math.min(1000, ROWS - i) }, () => {
      const id = newId();
      return { id, type: PAYMENT_REQUESTED, body: JSON.stringify({ message_id: id }), traceparent: null };
    });
    await database.db.insertInto('outbox_message').values(rows).execute();
  }
}

/** The lease way: claim and lease in one committed statement, publish, then mark in a second transaction. */
async function leaseBatch(batchSize: number): Promise<number> {
  const { rows } = await sql<{ id: string; type: string; body: string; traceparent: string | null }>`
    update outbox_message set leased_until = now() + make_interval(secs => ${CONFIRM_TIMEOUT_MS / 1000 + 5})
    where id in (
      select id from outbox_message
      where sent_at is null and failed_at is null and (leased_until is null or leased_until < now())
      order by id limit ${batchSize} for update skip locked)
    returning id, type, body, traceparent`.execute(database.db);
  if (rows.length === 0) return 0;
  const outcome = await publishConfirmed(channel, broker.exchange, rows, CONFIRM_TIMEOUT_MS);
  await database.db.transaction().execute((trx) => markSent(trx, outcome.confirmed));
  return rows.length;
}

const holdBatch = (batchSize: number) =>
  relayBatch({
    db: database.db,
    channel,
    exchange: broker.exchange,
    batchSize,
    confirmTimeoutMs: CONFIRM_TIMEOUT_MS,
    maxAttempts: 5,
  }).then((batch) => batch.claimed);

async function drain(way: string, batchSize: number, batch: (size: number) => Promise<number>) {
  await fillOutbox();
  const started = performance.now();
  let transactions = 0;
  for (let relayed = 0; relayed < ROWS;) {
    relayed += await batch(batchSize);
    transactions += 1;
  }
  const seconds = (performance.now() - started) / 1000;
  await database.db.deleteFrom('outbox_message').execute();
  await broker.drain(queue);
  console.log(
    `${way.padEnd(28)} batch ${String(batchSize).padStart(3)}: ${Math.round(ROWS / seconds).toLocaleString('en')} rows/s (${transactions} claims)`,
  );
}

try {
  console.log(`claim-bench: ${ROWS.toLocaleString('en')} outbox rows, one relay, this machine`);
  for (const batchSize of [500, 10]) {
    await drain('claim held over the publish', batchSize, holdBatch);
    await drain('lease, then mark', batchSize, leaseBatch);
  }
} finally {
  await connection.close();
  await broker.close();
  await database.drop();
}
