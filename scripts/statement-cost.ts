// What PostgreSQL and this process spend on one order's outbox round at a batch
// of one, the relay's lot at low rates (issue 17): an order's outbox insert,
// then the relay's part, two ways: the claim held in a transaction (BEGIN, the
// claim, the mark, COMMIT, statements prepared once per connection and the
// claim by a plain index scan, as the relay was until orders migration 0009 and
// payments 0010), and one call of relay_outbox (docs/ARCHITECTURE.md, "One call
// per relay batch"), which marks the round before and claims this one. Each way
// runs twice, interleaved, since this machine's speed drifts; the backends' CPU
// is read from /proc.
//   node scripts/statement-cost.ts [rounds=3000]
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { createMessagingTables, leaseOutbox, recordMessagingFailures, type MessagingTables } from '@gozon/messaging';
import { newId } from '@gozon/platform';
import { createTestDatabase } from '@gozon/testkit';

const ROUNDS = Number(process.argv[2] ?? 3000);
const database = await createTestDatabase<MessagingTables>('statement_cost', {
  '0001_messaging': createMessagingTables,
  '0005_messaging_failures': recordMessagingFailures,
  '0009_outbox_lease': leaseOutbox,
});
async function connect(options?: string) {
  const client = new pg.Client({ connectionString: database.url, ...(options ? { options } : {}) });
  await client.connect();
  const backend = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
  return { client, backend };
}

/** User + system CPU of a process so far, in µs (/proc/PID/stat, 100 ticks a second). */
const cpuMicros = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
};

const INSERT = `insert into "outbox_message" ("id", "type", "body", "traceparent") select * from unnest($1::uuid[], $2::text[], $3::text[], $4::text[])`;
const CLAIM = `select "id", "type", "body", "traceparent" from "outbox_message" where "sent_at" is null and "failed_at" is null order by "id" limit $1 for update skip locked`;
const MARK = `update "outbox_message" set "sent_at" = $1 where "id" = any($2::uuid[])`;
const RELAY = `select * from relay_outbox($1::uuid[], $2::integer, $3::integer)`;

type Way = 'held claim' | 'one call';

async function measure(way: Way) {
  const inserting = await connect();
  const relaying = await connect(way === 'held claim' ? '-c enable_bitmapscan=off' : undefined);
  const backendsBefore = cpuMicros(inserting.backend) + cpuMicros(relaying.backend);
  const ownBefore = process.cpuUsage();
  const started = performance.now();
  let sent: string[] = [];
  for (let i = 0; i < ROUNDS; i += 1) {
    await inserting.client.query({
      name: 'insert',
      text: INSERT,
      values: [[newId()], ['payment.requested'], ['{}'], [null]],
    });
    if (way === 'held claim') {
      await relaying.client.query('begin');
      const { rows } = await relaying.client.query({ name: 'claim', text: CLAIM, values: [1] });
      await relaying.client.query({
        name: 'mark',
        text: MARK,
        values: [new Date(), rows.map((row: { id: string }) => row.id)],
      });
      await relaying.client.query('commit');
    } else {
      const { rows } = await relaying.client.query({ name: 'relay', text: RELAY, values: [sent, 1, 20_000] });
      sent = rows.map((row: { id: string }) => row.id);
    }
  }
  const own = process.cpuUsage(ownBefore);
  const backends = cpuMicros(inserting.backend) + cpuMicros(relaying.backend) - backendsBefore;
  process.stdout.write(
    `${way}: PostgreSQL backends ${Math.round(backends / ROUNDS)} µs, this process ` +
      `${Math.round((own.user + own.system) / ROUNDS)} µs of CPU, ${Math.round(((performance.now() - started) * 1000) / ROUNDS)} µs of time per round\n`,
  );
  await Promise.all([inserting.client.end(), relaying.client.end()]);
}

try {
  for (const way of ['held claim', 'one call', 'held claim', 'one call'] as const) await measure(way);
} finally {
  await database.drop();
}
