import { setTimeout as sleep } from 'node:timers/promises';
import amqp from 'amqplib';
import pg from 'pg';
import { SUBSCRIPTIONS, deadLetterQueueName, queueName } from '@gozon/contracts';
import { AMQP_URL } from './broker.ts';
import { POSTGRES_URL } from './databases.ts';

// The money and message invariants of ARCHITECTURE.md, checked over a whole
// stack's databases and queues: by the fault suite after its attack, and by
// the benchmark after its load (a fast result that broke money is a failure).

export interface StackData {
  namespace: string;
  databases: string[];
}

export async function withDb<T>(database: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: `${POSTGRES_URL}/${database}` });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function withChannel<T>(work: (channel: amqp.ConfirmChannel) => Promise<T>): Promise<T> {
  const connection = await amqp.connect(AMQP_URL);
  try {
    return await work(await connection.createConfirmChannel());
  } finally {
    await connection.close();
  }
}

// Rows the relays set aside (failed_at: unroutable, oversize or unencodable too often) are
// never sent: they are counted apart, and not waited for.
const OUTBOX_COUNTS = `select count(*) filter (where sent_at is null and failed_at is null)::int as unsent,
                              count(*) filter (where failed_at is not null)::int as set_aside from outbox_message`;

async function countPending(stack: StackData) {
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
  });
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

// A load that wants its orders counted per request puts a client request id at
// the end of each order's description; the audit then checks that no request
// made more than one order (one answered 201 made exactly the order it was
// told of: `lost` checks that it exists). A retry must never double an order.
const CLIENT_REQUEST_ID = / request ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** An order description that carries a client request id for the audit. */
export function describeClientRequest(text: string, requestId: string): string {
  return `${text} request ${requestId}`;
}

export interface Audit {
  orders: number;
  /** Client requests (by the id in their orders' descriptions) that made more than one order. */
  doubled: number;
  lost: number;
  stuck: number;
  doubleDebits: number;
  finishedWithoutOneDebit: number;
  cancelledWithDebit: number;
  debitsWithoutOrder: number;
  walletsOff: string[];
  negativeWallets: string[];
  totalsBalance: boolean;
  unsent: number;
  /** Outbox rows the relays set aside as unpublishable. */
  setAside: number;
  deadLettered: string[];
}

/** Reads everything once the stack is quiet; `accepted` are the order ids the clients were given. */
export async function auditStack(stack: StackData, accepted: string[]): Promise<Audit> {
  const [ordersDb, paymentsDb] = stack.databases as [string, string];
  const orders = await withDb(
    ordersDb,
    async (client) =>
      (
        await client.query<{ id: string; status: string; description: string }>(
          'select id, status, description from "order"',
        )
      ).rows,
  );
  const ledger = await withDb(paymentsDb, async (client) => {
    const debits = (
      await client.query<{ order_id: string; n: number }>(
        `select order_id, count(*)::int as n from ledger_entry where kind = 'debit' group by order_id`,
      )
    ).rows;
    const wallets = (
      await client.query<{ id: string; balance: string; deposits: string; debits: string }>(`
        select w.id, w.balance,
               coalesce(sum(l.amount) filter (where l.kind = 'deposit'), 0) as deposits,
               coalesce(sum(l.amount) filter (where l.kind = 'debit'), 0) as debits
        from wallet w left join ledger_entry l on l.wallet_id = w.id group by w.id`)
    ).rows;
    return { debits, wallets };
  });
  const deadLettered = await withChannel(async (channel) => {
    const ids = new Set<string>();
    for (const s of SUBSCRIPTIONS) {
      for (;;) {
        const message = await channel.get(deadLetterQueueName(queueName(stack.namespace, s)), { noAck: true });
        if (!message) break;
        ids.add(message.properties.messageId ?? '(no id)');
      }
    }
    return [...ids].sort();
  });
  const pending = await countPending(stack);

  const debitsByOrder = new Map(ledger.debits.map((d) => [d.order_id, d.n]));
  const known = new Set(orders.map((o) => o.id));
  const sum = (key: 'balance' | 'deposits' | 'debits') =>
    ledger.wallets.reduce((total, w) => total + BigInt(w[key]), 0n);
  const ordersByRequest = new Map<string, number>();
  for (const { description } of orders) {
    const requestId = CLIENT_REQUEST_ID.exec(description)?.[1];
    if (requestId) ordersByRequest.set(requestId, (ordersByRequest.get(requestId) ?? 0) + 1);
  }
  return {
    orders: orders.length,
    doubled: [...ordersByRequest.values()].filter((n) => n > 1).length,
    lost: accepted.filter((id) => !known.has(id)).length,
    stuck: orders.filter((o) => o.status === 'NEW').length,
    doubleDebits: ledger.debits.filter((d) => d.n > 1).length,
    finishedWithoutOneDebit: orders.filter((o) => o.status === 'FINISHED' && debitsByOrder.get(o.id) !== 1).length,
    cancelledWithDebit: orders.filter((o) => o.status === 'CANCELLED' && debitsByOrder.has(o.id)).length,
    debitsWithoutOrder: ledger.debits.filter((d) => !known.has(d.order_id)).length,
    walletsOff: ledger.wallets
      .filter((w) => BigInt(w.balance) !== BigInt(w.deposits) - BigInt(w.debits))
      .map((w) => w.id),
    negativeWallets: ledger.wallets.filter((w) => BigInt(w.balance) < 0n).map((w) => w.id),
    totalsBalance: sum('balance') + sum('debits') === sum('deposits'),
    unsent: pending.unsent,
    setAside: pending.setAside,
    deadLettered,
  };
}

/** The audit's failures in words; empty when the money and the messages are right. */
export function auditFailures(audit: Audit, expectedDeadLetters: string[] = []): string[] {
  const failures: string[] = [];
  if (audit.lost) failures.push(`${audit.lost} accepted orders missing`);
  if (audit.doubled) failures.push(`${audit.doubled} client requests placed more than one order`);
  if (audit.stuck) failures.push(`${audit.stuck} orders still NEW`);
  if (audit.doubleDebits) failures.push(`${audit.doubleDebits} orders debited twice`);
  if (audit.finishedWithoutOneDebit)
    failures.push(`${audit.finishedWithoutOneDebit} FINISHED orders without exactly one debit`);
  if (audit.cancelledWithDebit) failures.push(`${audit.cancelledWithDebit} CANCELLED orders with a debit`);
  if (audit.debitsWithoutOrder) failures.push(`${audit.debitsWithoutOrder} debits without an order`);
  if (audit.walletsOff.length)
    failures.push(`wallets where balance ≠ deposits − debits: ${audit.walletsOff.join(', ')}`);
  if (audit.negativeWallets.length) failures.push(`negative wallets: ${audit.negativeWallets.join(', ')}`);
  if (!audit.totalsBalance) failures.push('Σ balances + Σ debits ≠ Σ deposits');
  if (audit.unsent) failures.push(`${audit.unsent} outbox rows unsent`);
  if (audit.setAside) failures.push(`${audit.setAside} outbox rows set aside as unpublishable`);
  const expected = [...expectedDeadLetters].sort();
  if (JSON.stringify(audit.deadLettered) !== JSON.stringify(expected)) {
    failures.push(`dead letters ${JSON.stringify(audit.deadLettered)}, expected ${JSON.stringify(expected)}`);
  }
  return failures;
}
