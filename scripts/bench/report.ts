// The report's shape (what bench/results/*.json hold) and its Markdown: one
// row per phase beside pgbench, then where the CPU went.
import type { readCompletion } from './database.ts';
import type { PhasePlan } from './load.ts';
import { round, type summarizeHttp } from './stats.ts';

/** The figures of one phase: the plan, what HTTP saw, what the orders database saw, and the CPU. */
export interface PhaseResult
  extends PhasePlan, ReturnType<typeof summarizeHttp>, Awaited<ReturnType<typeof readCompletion>> {
  /** Seconds the backlog took to clear after the phase. */
  drainSeconds: number;
  /** Orders still NEW when draining gave up (0 when it cleared). */
  stuck: number;
  machineBusyPercent: number;
  /** Transactions each database committed per accepted order. */
  transactionsPerOrder: { orders: number; payments: number };
  /** % of one core, by process group. */
  cpuPercent: Record<string, number>;
  /** CPU ms per completed order, by process group. */
  cpuMsPerOrder: Record<string, number>;
}

/** The plan run on one stack, and the money audit at its end: 'held', or what broke. */
export interface Run {
  replicas: number;
  phases: PhaseResult[];
  invariants: 'held' | string[];
}

export interface Report {
  /** When the run started, ISO 8601. */
  at: string;
  cores: number;
  machine: string;
  pgbenchTps: number;
  pgbenchMachineBusyPercent: number;
  postgres: string;
  runs: Run[];
}

/** The report as Markdown: the headline table against pgbench, then CPU per order by process. */
export function renderMarkdown(report: Report): string {
  const rows = report.runs.flatMap((run) =>
    run.phases.map(
      (p) =>
        `| ${run.replicas} | ${p.name} | ${p.acceptedPerSecond} | ${p.completedPerSecond} | ${round(p.completedPerSecond / report.pgbenchTps, 3)} | ${p.http.p50} / ${p.http.p95} / ${p.http.p99} | ${p.completion.p50} / ${p.completion.p95} / ${p.completion.p99} | ${
          p.errors === 0
            ? 0
            : `${p.errors} (${Object.entries(p.errorsByOutcome)
                .map(([outcome, n]) => `${n}× ${outcome}`)
                .join(', ')})`
        } | ${p.machineBusyPercent} | ${p.transactionsPerOrder.orders} / ${p.transactionsPerOrder.payments} | ${p.drainSeconds} |`,
    ),
  );
  const byCost = (values: Record<string, number>) =>
    Object.entries(values)
      .filter(([, value]) => value > 0)
      .sort(([, a], [, b]) => b - a);
  const cpu = report.runs.flatMap((run) =>
    run.phases.map(
      (p) =>
        `| ${run.replicas} | ${p.name} | ${round(
          Object.values(p.cpuMsPerOrder).reduce((sum, ms) => sum + ms, 0),
          2,
        )} | ${byCost(p.cpuMsPerOrder)
          .map(([name, ms]) => `${name} ${ms}`)
          .join(', ')} | ${byCost(p.cpuPercent)
          .map(([name, percent]) => `${name} ${percent}%`)
          .join(', ')} |`,
    ),
  );
  return `# Gozon benchmark, ${report.at}

Machine: ${report.machine}. Everything on it: PostgreSQL, RabbitMQ, nginx, the services and the load generator.
Yardstick: pgbench, the create-order transaction (order + outbox row) at 16 clients: **${report.pgbenchTps} tps**,
with the machine ${report.pgbenchMachineBusyPercent}% busy: ${round((report.cores * 10 * report.pgbenchMachineBusyPercent) / report.pgbenchTps, 3)} CPU ms per transaction, pgbench's client included.
Invariants after the load: ${report.runs.map((r) => `${r.replicas}×: ${r.invariants === 'held' ? 'held' : r.invariants.join('; ')}`).join('; ')}.

| replicas | phase | accepted/s | completed/s | ÷ pgbench | HTTP p50 / p95 / p99 ms | completion p50 / p95 / p99 ms | errors | machine busy % | transactions per order, orders / payments db | drain s |
|---|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

Completed/s counts orders that reached FINISHED or CANCELLED during the phase; completion latency is
updated_at − created_at of the orders created in the phase (the database's own timestamps); "drain" is
how long the backlog took to clear after the phase.

## Where the CPU goes

CPU milliseconds each completed order cost, per process group (the machine has ${report.cores} cores, so
${report.cores * 1000} ms of CPU per second: at a cost of C ms per order it cannot complete more than ${report.cores * 1000}/C
orders per second), and the same as % of one core.

| replicas | phase | CPU ms per order, all | CPU ms per order, by process | % of one core |
|---|---|---|---|---|
${cpu.join('\n')}
`;
}
