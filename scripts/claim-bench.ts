// What one relay's way of batching costs in throughput, two ways: the claim
// held open across the publish (BEGIN, SELECT ... FOR UPDATE SKIP LOCKED, the
// publish, the mark, COMMIT: the relay until orders migration 0009 and
// payments 0010), and the relay's way now, one autocommitted call of
// relay_outbox per batch that marks the previous batch sent and claims the next
// under a lease (docs/ARCHITECTURE.md, "One call per relay batch"). One relay
// drains the same backlog each way, on a database and broker namespace of its
// own, at a full batch and at a small one, each way twice, interleaved.
//   node scripts/claim-bench.ts [rows=20000]
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { PAYMENT_REQUESTED } from '@gozon/contracts';
import {
  connectAmqp,
  createMessagingTables,
  leaseOutbox,
  publishConfirmed,
  recordMessagingFailures,
  relayBatch,
  type MessagingTables,
  type Unmarked,
} from '@gozon/messaging';
import { newId } from '@gozon/platform';
import { AMQP_URL, createTestBroker, createTestDatabase } from '@gozon/testkit';

const ROWS = Number(process.argv[2] ?? 20_000);
const CONFIRM_TIMEOUT_MS = 10_000;

const database = await createTestDatabase<MessagingTables>('claim_bench', {
  '0001_messaging': createMessagingTables,
  '0005_messaging_failures': recordMessagingFailures,
  '0009_outbox_lease': leaseOutbox,
});
// The held claim's connection as its relay's pool was: its claim by a plain index scan, as
// relay_outbox's is, not a bitmap scan that visits every sent row's dead index entry again.
const held = new Kysely<MessagingTables>({
  dialect: new PostgresDialect({
    pool: new pg.Pool({ connectionString: database.url, max: 1, options: '-c enable_bitmapscan=off' }),
  }),
});
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

/** The held way: claim, publish and mark in one transaction, the claim's row locks held across the publish. */
const holdBatch = (batchSize: number) =>
  held.transaction().execute(async (trx) => {
    const rows = await trx
      .selectFrom('outbox_message')
      .select(['id', 'type', 'body', 'traceparent'])
      .where('sent_at', 'is', null)
      .where('failed_at', 'is', null)
      .orderBy('id')
      .limit(batchSize)
      .forUpdate()
      .skipLocked()
      .execute();
    if (rows.length === 0) return 0;
    const outcome = await publishConfirmed(channel, broker.exchange, rows, CONFIRM_TIMEOUT_MS);
    await trx.updateTable('outbox_message').set({ sent_at: new Date() }).where('id', 'in', outcome.confirmed).execute();
    return rows.length;
  });

/** The relay's way: one call per batch, which marks the batch before it. */
const unmarked: Unmarked = { ids: [] };
async function callBatch(batchSize: number) {
  const batch = await relayBatch(
    {
      db: database.db,
      channel,
      exchange: broker.exchange,
      batchSize,
      confirmTimeoutMs: CONFIRM_TIMEOUT_MS,
      maxAttempts: 5,
      leaseMs: 2 * CONFIRM_TIMEOUT_MS,
    },
    unmarked,
  );
  return batch.claimed;
}

async function drain(way: string, batchSize: number, batch: (size: number) => Promise<number>) {
  await fillOutbox();
  const started = performance.now();
  let calls = 0;
  // The last call finds nothing to claim; the relay's way marks its last batch with it.
  for (let claimed = -1; claimed !== 0; calls += 1) claimed = await batch(batchSize);
  const seconds = (performance.now() - started) / 1000;
  const unsent = await database.db
    .selectFrom('outbox_message')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('sent_at', 'is', null)
    .executeTakeFirstOrThrow();
  if (Number(unsent.n) !== 0) throw new Error(`${way}: ${unsent.n} rows left unsent`);
  await database.db.deleteFrom('outbox_message').execute();
  await broker.drain(queue);
  console.log(
    `${way.padEnd(32)} batch ${String(batchSize).padStart(3)}: ${Math.round(ROWS / seconds).toLocaleString('en')} rows/s (${calls} batches)`,
  );
}

try {
  console.log(`claim-bench: ${ROWS.toLocaleString('en')} outbox rows, one relay, this machine`);
  for (const batchSize of [500, 10])
    for (let round = 0; round < 2; round += 1) {
      await drain('claim held over the publish', batchSize, holdBatch);
      await drain('one call per batch (relay_outbox)', batchSize, callBatch);
    }
} finally {
  await held.destroy();
  await connection.close();
  await broker.close();
  await database.drop();
}
