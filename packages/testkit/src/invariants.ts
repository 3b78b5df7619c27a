import amqp from 'amqplib';
import pg from 'pg';
import { SUBSCRIPTIONS, deadLetterQueueName, queueName } from '@gozon/contracts';
import { AMQP_URL } from './broker.ts';
import { POSTGRES_URL } from './databases.ts';
import { waitFor } from './wait.ts';

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

async function countPending(stack: StackData) {
  const [ordersDb, paymentsDb] = stack.databases as [string, string];
  const orders = await withDb(ordersDb, async (client) => {
    const { rows } = await client.query<{ open: number; unsent: number }>(
      `select (select count(*)::int from "order" where status = 'NEW') as open,
              (select count(*)::int from outbox_message where sent_at is null) as unsent`,
    );
    return rows[0]!;
  });
  const paymentsUnsent = await withDb(paymentsDb, async (client) => (await client.query('select count(*)::int as n from outbox_message where sent_at is null')).rows[0].n as number);
  const queued = await withChannel(async (channel) => {
    let total = 0;
    for (const s of SUBSCRIPTIONS) total += (await channel.checkQueue(queueName(stack.namespace, s))).messageCount;
    return total;
  });
  return { open: orders.open, unsent: orders.unsent + paymentsUnsent, queued };
}

/** Waits until every order is final, every outbox row sent and every queue empty; resolves with the orders still NEW (0 when quiet). */
export async function waitForQuiet(stack: StackData, timeoutMs: number, report: (line: string) => void): Promise<number> {
  let lastReport = Date.now();
  let last = { open: -1, unsent: -1, queued: -1 };
  try {
    await waitFor(
      'every order final, every outbox sent, every queue empty',
      async () => {
        last = await countPending(stack);
        if (Date.now() - lastReport > 5000) {
          lastReport = Date.now();
          report(`waiting for quiet: ${last.open} orders NEW, ${last.unsent} outbox rows unsent, ${last.queued} messages queued`);
        }
        return last.open + last.unsent + last.queued === 0;
      },
      timeoutMs,
    );
    return 0;
  } catch {
    return last.open;
  }
}

export interface Audit {
  orders: number;
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
  deadLettered: string[];
}

/** Reads everything once the stack is quiet; `accepted` are the order ids the clients were given. */
export async function auditStack(stack: StackData, accepted: string[]): Promise<Audit> {
  const [ordersDb, paymentsDb] = stack.databases as [string, string];
  const orders = await withDb(ordersDb, async (client) => (await client.query<{ id: string; status: string }>('select id, status from "order"')).rows);
  const ledger = await withDb(paymentsDb, async (client) => {
    const debits = (await client.query<{ order_id: string; n: number }>(`select order_id, count(*)::int as n from ledger_entry where kind = 'debit' group by order_id`)).rows;
    const accounts = (
      await client.query<{ id: string; balance: string; deposits: string; debits: string }>(`
        select a.id, a.balance,
               coalesce(sum(l.amount) filter (where l.kind = 'deposit'), 0) as deposits,
               coalesce(sum(l.amount) filter (where l.kind = 'debit'), 0) as debits
        from account a left join ledger_entry l on l.account_id = a.id group by a.id`)
    ).rows;
    return { debits, accounts };
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
  const sum = (key: 'balance' | 'deposits' | 'debits') => ledger.accounts.reduce((total, a) => total + BigInt(a[key]), 0n);
  return {
    orders: orders.length,
    lost: accepted.filter((id) => !known.has(id)).length,
    stuck: orders.filter((o) => o.status === 'NEW').length,
    doubleDebits: ledger.debits.filter((d) => d.n > 1).length,
    finishedWithoutOneDebit: orders.filter((o) => o.status === 'FINISHED' && debitsByOrder.get(o.id) !== 1).length,
    cancelledWithDebit: orders.filter((o) => o.status === 'CANCELLED' && debitsByOrder.has(o.id)).length,
    debitsWithoutOrder: ledger.debits.filter((d) => !known.has(d.order_id)).length,
    walletsOff: ledger.accounts.filter((a) => BigInt(a.balance) !== BigInt(a.deposits) - BigInt(a.debits)).map((a) => a.id),
    negativeWallets: ledger.accounts.filter((a) => BigInt(a.balance) < 0n).map((a) => a.id),
    totalsBalance: sum('balance') + sum('debits') === sum('deposits'),
    unsent: pending.unsent,
    deadLettered,
  };
}

/** The audit's failures in words; empty when the money and the messages are right. */
export function auditFailures(audit: Audit, expectedDeadLetters: string[] = []): string[] {
  const failures: string[] = [];
  if (audit.lost) failures.push(`${audit.lost} accepted orders missing`);
  if (audit.stuck) failures.push(`${audit.stuck} orders still NEW`);
  if (audit.doubleDebits) failures.push(`${audit.doubleDebits} orders debited twice`);
  if (audit.finishedWithoutOneDebit) failures.push(`${audit.finishedWithoutOneDebit} FINISHED orders without exactly one debit`);
  if (audit.cancelledWithDebit) failures.push(`${audit.cancelledWithDebit} CANCELLED orders with a debit`);
  if (audit.debitsWithoutOrder) failures.push(`${audit.debitsWithoutOrder} debits without an order`);
  if (audit.walletsOff.length) failures.push(`wallets where balance ≠ deposits − debits: ${audit.walletsOff.join(', ')}`);
  if (audit.negativeWallets.length) failures.push(`negative wallets: ${audit.negativeWallets.join(', ')}`);
  if (!audit.totalsBalance) failures.push('Σ balances + Σ debits ≠ Σ deposits');
  if (audit.unsent) failures.push(`${audit.unsent} outbox rows unsent`);
  const expected = [...expectedDeadLetters].sort();
  if (JSON.stringify(audit.deadLettered) !== JSON.stringify(expected)) {
    failures.push(`dead letters ${JSON.stringify(audit.deadLettered)}, expected ${JSON.stringify(expected)}`);
  }
  return failures;
}
