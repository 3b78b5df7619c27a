// What PostgreSQL and this process spend on one order's outbox round at a batch
// of one, the relay's lot at low rates (issue 17): an order's outbox insert,
// then the relay's transaction (BEGIN, claim, mark sent, COMMIT), three ways,
// each with the claim read by a plain index scan: statements sent unnamed
// (parsed and planned every time, as Kysely sends them) on a connection opened
// with enable_bitmapscan off (RELAY_SESSION_SETTINGS); the same with a SET LOCAL
// of it beginning each transaction instead, as the claim once did; and named
// (prepared once per connection). Each way runs twice, interleaved, since this
// machine's speed drifts; the backends' CPU is read from /proc.
//   node scripts/statement-cost.ts [rounds=3000]
import { readFileSync } from 'node:fs';
import pg from 'pg';
import {
  RELAY_SESSION_SETTINGS,
  createMessagingTables,
  recordMessagingFailures,
  type MessagingTables,
} from '@gozon/messaging';
import { newId } from '@gozon/platform';
import { createTestDatabase } from '@gozon/testkit';

const ROUNDS = Number(process.argv[2] ?? 3000);
const database = await createTestDatabase<MessagingTables>('statement_cost', {
  '0001_messaging': createMessagingTables,
  '0005_messaging_failures': recordMessagingFailures,
});
async function connect(options?: string) {
  const client = new pg.Client({ connectionString: database.url, ...(options ? { options } : {}) });
  await client.connect();
  const backend = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
  return { client, backend };
}
const relaying = await connect(
  Object.entries(RELAY_SESSION_SETTINGS)
    .map(([name, value]) => `-c ${name}=${value}`)
    .join(' '),
);
const plain = await connect();

/** User + system CPU of a process so far, in µs (/proc/PID/stat, 100 ticks a second). */
const cpuMicros = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
};

const INSERT = `insert into "outbox_message" ("id", "type", "body", "traceparent") select * from unnest($1::uuid[], $2::text[], $3::text[], $4::text[])`;
const CLAIM = `select "id", "type", "body", "traceparent" from "outbox_message" where "sent_at" is null and "failed_at" is null order by "id" limit $1 for update skip locked`;
const MARK = `update "outbox_message" set "sent_at" = $1 where "id" = any($2::uuid[])`;

type Way = 'unnamed' | 'unnamed, SET LOCAL' | 'named';

async function measure(way: Way) {
  const { client, backend } = way === 'unnamed, SET LOCAL' ? plain : relaying;
  const query = (name: string, text: string, values: unknown[]) =>
    client.query(way === 'named' ? { name, text, values } : { text, values });
  const backendBefore = cpuMicros(backend);
  const ownBefore = process.cpuUsage();
  for (let i = 0; i < ROUNDS; i += 1) {
    await query('insert', INSERT, [[newId()], ['payment.requested'], ['{}'], [null]]);
    await client.query('begin');
    if (way === 'unnamed, SET LOCAL') await client.query('set local enable_bitmapscan = off');
    const { rows } = await query('claim', CLAIM, [1]);
    await query('mark', MARK, [new Date(), rows.map((row: { id: string }) => row.id)]);
    await client.query('commit');
  }
  const own = process.cpuUsage(ownBefore);
  process.stdout.write(
    `${way}: PostgreSQL backend ${Math.round((cpuMicros(backend) - backendBefore) / ROUNDS)} µs, ` +
      `this process ${Math.round((own.user + own.system) / ROUNDS)} µs of CPU per round\n`,
  );
}

try {
  for (const way of ['unnamed', 'unnamed, SET LOCAL', 'named', 'unnamed', 'unnamed, SET LOCAL', 'named'] as const)
    await measure(way);
} finally {
  await Promise.all([relaying.client.end(), plain.client.end()]);
  await database.drop();
}
