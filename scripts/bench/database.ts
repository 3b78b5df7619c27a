// What PostgreSQL says about a phase: the orders completed and how long each
// took, by the orders' own timestamps (created_at at insert, updated_at when the
// payment result was applied), and the transactions each database committed.
import type pg from 'pg';
import { withDb } from '@gozon/testkit';
import { round } from './stats.ts';

/** When a phase ran, as the two ends of its window. */
type Window = [Date, Date];

/** Transactions committed so far in each of the databases, in the order given. */
export async function countCommits(databases: string[]): Promise<number[]> {
  const result = await withDb('postgres', (client) =>
    client.query<{ datname: string; n: string }>(
      `select datname, xact_commit as n from pg_stat_database where datname = any($1)`,
      [databases],
    ),
  );
  return databases.map((name) => Number(result.rows.find((row) => row.datname === name)?.n ?? 0));
}

/** Completion latency percentiles (ms) of the orders created in the window that are no longer NEW, and how many. */
async function readCompletionLatency(client: pg.Client, window: Window) {
  const result = await client.query<{ p50: number; p95: number; p99: number; n: number }>(
    `select percentile_cont(0.5) within group (order by ms) as p50,
            percentile_cont(0.95) within group (order by ms) as p95,
            percentile_cont(0.99) within group (order by ms) as p99,
            count(*)::int as n
       from (select extract(epoch from updated_at - created_at) * 1000 as ms
               from "order" where status <> 'NEW' and created_at between $1 and $2) t`,
    window,
  );
  return result.rows[0]!;
}

/** Orders that reached FINISHED or CANCELLED within the window, whenever created. */
async function countCompleted(client: pg.Client, window: Window): Promise<number> {
  const result = await client.query<{ n: number }>(
    `select count(*)::int as n from "order" where status <> 'NEW' and updated_at between $1 and $2`,
    window,
  );
  return result.rows[0]!.n;
}

/** Per second from the window's start: orders completed, and the p99 of their completion latency (ms). */
async function readCompletionTimeline(client: pg.Client, window: Window) {
  const result = await client.query<{ second: number; completed: number; p99: number }>(
    `select floor(extract(epoch from updated_at - $1::timestamptz))::int as second, count(*)::int as completed,
            percentile_cont(0.99) within group (order by extract(epoch from updated_at - created_at) * 1000) as p99
       from "order" where status <> 'NEW' and updated_at >= $1 and created_at <= $2 group by 1 order by 1`,
    window,
  );
  return result.rows;
}

/** The completion figures of a phase that ran from `started` to `ended` (ms since the epoch) for `seconds`, from the orders database. */
export async function readCompletion(ordersDb: string, phase: { started: number; ended: number; seconds: number }) {
  return withDb(ordersDb, async (client) => {
    const window: Window = [new Date(phase.started), new Date(phase.ended)];
    const latency = await readCompletionLatency(client, window);
    const completed = await countCompleted(client, window);
    const timeline = await readCompletionTimeline(client, window);
    return {
      completion: {
        p50: round(latency.p50 ?? 0),
        p95: round(latency.p95 ?? 0),
        p99: round(latency.p99 ?? 0),
        orders: latency.n,
      },
      completedPerSecond: round(completed / phase.seconds),
      completionTimeline: timeline.map((r) => ({
        second: r.second,
        completed: r.completed,
        completionP99: round(r.p99),
      })),
    };
  });
}
