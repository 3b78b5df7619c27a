import { SUBSCRIPTIONS, deadLetterQueueName, queueName } from '@gozon/contracts';
import { withChannel, withDb } from './connections.ts';
import { countPending, type StackData } from './pipeline.ts';

// The money and message invariants of ARCHITECTURE.md, checked over a whole
// stack's databases and queues: by the fault suite after its attack, and by
// the benchmark after its load (a fast result that broke money is a failure).

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
  }, stack.amqpUrl);
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
