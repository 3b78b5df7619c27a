import { setTimeout as sleep } from 'node:timers/promises';
import { SUBSCRIPTIONS, queueName } from '@gozon/contracts';
import { withChannel, withDb } from './connections.ts';

// Where a whole stack's pipeline stands: orders still NEW, outbox rows unsent,
// messages queued. The fault suite and the benchmark wait on it before their
// audit, and say from it where orders stopped when they never settle.

/** A stack's queue namespace and its two databases, orders first. */
export interface StackData {
  namespace: string;
  /** The orders and the payments database: names on the test PostgreSQL, or whole URLs. */
  databases: string[];
  /** The stack's RabbitMQ, when it is not the test one (AMQP_URL). */
  amqpUrl?: string;
}

// Rows the relays set aside (failed_at: unroutable, oversize or unencodable too often) are
// never sent: they are counted apart, and not waited for.
const OUTBOX_COUNTS = `select count(*) filter (where sent_at is null and failed_at is null)::int as unsent,
                              count(*) filter (where failed_at is not null)::int as set_aside from outbox_message`;

/** Orders still NEW, outbox rows unsent and set aside (both databases), and messages in the queues. */
export async function countPending(stack: StackData) {
  const [ordersDb, paymentsDb] = stack.databases as [string, string];
  const open = await withDb(
    ordersDb,
    async (client) =>
      (await client.query(`select count(*)::int as n from "order" where status = 'NEW'`)).rows[0].n as number,
  );
  let unsent = 0;
  let setAside = 0;
  for (const database of [ordersDb, paymentsDb]) {
    const counts = await withDb(
      database,
      async (client) => (await client.query<{ unsent: number; set_aside: number }>(OUTBOX_COUNTS)).rows[0]!,
    );
    unsent += counts.unsent;
    setAside += counts.set_aside;
  }
  const queued = await withChannel(async (channel) => {
    let total = 0;
    for (const s of SUBSCRIPTIONS) total += (await channel.checkQueue(queueName(stack.namespace, s))).messageCount;
    return total;
  }, stack.amqpUrl);
  return { open, unsent, setAside, queued };
}

/**
 * Waits until every order is final, every outbox row sent and every queue
 * empty, at most `timeoutMs`, and no longer than `stalledMs` once nothing
 * pending has changed; resolves with the orders still NEW (0 when quiet).
 */
export async function waitForQuiet(
  stack: StackData,
  timeoutMs: number,
  report: (line: string) => void,
  stalledMs = timeoutMs,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let lastReport = Date.now();
  let lastChange = Date.now();
  let last = { open: -1, unsent: -1, setAside: -1, queued: -1 };
  const line = () =>
    `${last.open} orders NEW, ${last.unsent} outbox rows unsent, ${last.setAside} set aside, ${last.queued} messages queued`;
  while (Date.now() < deadline && Date.now() - lastChange < stalledMs) {
    try {
      const now = await countPending(stack);
      if (JSON.stringify(now) !== JSON.stringify(last)) lastChange = Date.now();
      last = now;
      if (last.open + last.unsent + last.queued === 0) return 0;
    } catch {
      // a database or the broker not answering yet: nothing changed
    }
    if (Date.now() - lastReport > 5000) {
      lastReport = Date.now();
      report(`waiting for quiet: ${line()}`);
    }
    await sleep(100);
  }
  report(`not quiet: ${line()}, unchanged for ${((Date.now() - lastChange) / 1000).toFixed(0)} s`);
  return last.open;
}

/** Where the orders still NEW stopped on their way, for a run that did not go quiet to say. */
export async function explainStuck(stack: StackData): Promise<string> {
  const [ordersDb, paymentsDb] = stack.databases as [string, string];
  const stuck = await withDb(
    ordersDb,
    async (client) =>
      (
        await client.query<{ id: string; created_at: Date }>(
          `select id, created_at from "order" where status = 'NEW' order by created_at`,
        )
      ).rows,
  );
  if (stuck.length === 0) return 'no order is NEW';
  const ids = stuck.map((o) => o.id);
  // Sent rows are purged a minute after they were sent: one not found was sent long ago.
  const rowsAbout = async (database: string) =>
    withDb(database, async (client) => {
      const { rows } = await client.query<{ state: string; n: number }>(
        `select case when failed_at is not null then 'set aside' when sent_at is null then 'unsent' else 'sent' end as state, count(*)::int as n
         from outbox_message where (body::jsonb ->> 'order_id')::uuid = any($1::uuid[]) group by 1`,
        [ids],
      );
      const counts = Object.fromEntries(rows.map((r) => [r.state, r.n]));
      return ['unsent', 'sent', 'set aside'].map((state) => `${counts[state] ?? 0} ${state}`).join(', ');
    });
  const decided = await withDb(paymentsDb, async (client) => {
    const { rows } = await client.query<{ outcome: string | null; n: number }>(
      `select outcome, count(*)::int as n from payment where order_id = any($1::uuid[]) group by 1`,
      [ids],
    );
    return rows.map((r) => `${r.n} ${r.outcome ?? 'undecided'}`).join(', ') || 'none';
  });
  const placed = `${stuck[0]!.created_at.toISOString()} – ${stuck.at(-1)!.created_at.toISOString()}`;
  return (
    `${stuck.length} orders NEW, placed ${placed}; their payment requests in the orders outbox: ${await rowsAbout(ordersDb)} (others purged once sent); ` +
    `payments for them: ${decided}; their results in the payments outbox: ${await rowsAbout(paymentsDb)}`
  );
}
