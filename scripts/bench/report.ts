// The report's shape (what bench/results/*.json hold) and its Markdown: one
// row per phase beside pgbench, then where the CPU went.
import type { readCompletion } from './database.ts';
import type { PhasePlan } from './load.ts';
import type { costOfWatching } from './rounds.ts';
import { round, type summarizeHttp } from './stats.ts';
import type { StreamDelivery, StreamMemory } from './streams.ts';

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
  /** Voluntary context switches of each process group's threads per completed order. */
  wakeupsPerOrder: Record<string, number>;
}

/** The plan run on one stack, and the money audit at its end: 'held', or what broke. */
export interface Run {
  replicas: number;
  phases: PhaseResult[];
  /** Live order status: the streams held and the phases run for their users (the first run only). */
  streams?: { memory: StreamMemory; phases: Array<PhaseResult & { delivery: StreamDelivery }> };
  invariants: 'held' | string[];
}

/** What watching the stack costs: rounds of a plain and an observed stack at the maximum rate, side by side. */
export interface ObservabilityCost {
  replicas: number;
  /** Share of orders the observed stacks traced. */
  traceRatio: number;
  /** Each round's maximum phase on each stack; `observedFirst` says which ran first. */
  rounds: Array<{ observedFirst: boolean; plain: PhaseResult; observed: PhaseResult }>;
  /** costOfWatching over the rounds' completed/s: the cost in %, and the rounds' median, lowest and highest. */
  cost: ReturnType<typeof costOfWatching>;
  /** The fixed-rate phases the last observed stack ran after its maximum. */
  phases: PhaseResult[];
  /** Spans, and export requests, the collector took from all observed stacks. */
  spans: number;
  requests: number;
  /** The rendered dashboard's screenshot, relative to the repository, or why there is none. */
  dashboard: string;
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
  observability?: ObservabilityCost;
}

const sumOf = (values: Record<string, number>) => Object.values(values).reduce((sum, ms) => sum + ms, 0);

/**
 * The live-status section: memory per stream, then per phase with the streams
 * open what reached the clients, how fast, and what the push cost beside the
 * phase at the same rate without streams (CPU ms per order, the difference).
 */
function renderStreams(run: Run): string {
  if (!run.streams) return '';
  const { memory, phases } = run.streams;
  const rows = phases.map((p) => {
    const plain = run.phases.find((other) => other.rate === p.rate);
    const extra = (group?: string) =>
      plain
        ? round(
            group
              ? (p.cpuMsPerOrder[group] ?? 0) - (plain.cpuMsPerOrder[group] ?? 0)
              : sumOf(p.cpuMsPerOrder) - sumOf(plain.cpuMsPerOrder),
            3,
          )
        : 'n/a';
    // What one core of the replica could push if pushing were all it did.
    const ceiling = (ms: number | string) => (typeof ms === 'number' && ms > 0 ? Math.round(1000 / ms) : 'n/a');
    const ordersApi = Object.keys(p.cpuMsPerOrder).find((group) => group.startsWith('orders-api')) ?? 'orders-api';
    return `| ${p.name} | ${p.completedPerSecond} | ${p.delivery.delivered} | ${p.delivery.missing} | ${p.delivery.ended} | ${p.delivery.latency.p50} / ${p.delivery.latency.p95} / ${p.delivery.latency.p99} | ${p.cpuMsPerOrder[ordersApi] ?? 0} | ${extra(ordersApi)} | ${ceiling(extra(ordersApi))} | ${extra('nginx')} | ${extra()} | ${p.machineBusyPercent} |`;
  });
  return `
## Live order status (${run.replicas}×)

${memory.streams} streams held through the gateway on the one orders-api replica: its resident memory went
from ${memory.rssBeforeKiB} KiB to ${memory.rssAfterKiB} KiB, **${memory.perStreamKiB} KiB per stream**.

| phase | completed/s | final statuses pushed | missing | streams ended | relay commit → client p50 / p95 / p99 ms | orders-api CPU ms per order | push cost, orders-api | events/s one core of it could push | push cost, nginx | push cost, all processes | machine busy % |
|---|---|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

Each user has one stream and its orders settle while it is open. The latency runs from the order's
updated_at (when orders-relay's update ran, the last statement before its commit: the event id) to
the event's arrival at the client, so it is a little above commit-to-client. The push cost is CPU ms per order
above the phase at the same rate without streams in this run; one core of orders-api spending
nothing but that could push 1000 ÷ its push cost events a second.
`;
}

/**
 * What watching costs: each round's plain and observed stack at the maximum
 * rate, the cost over all rounds, then the fixed rates on the last observed
 * stack beside the same rates of the plain run with as many replicas.
 */
function renderObservabilityCost(report: Report): string {
  const cost = report.observability;
  if (!cost) return '';
  const change = (off: number, on: number) => (off === 0 ? 'n/a' : `${round((100 * (on - off)) / off, 1)} %`);
  const compare = (name: string, off: PhaseResult, on: PhaseResult) => {
    const [cpuOff, cpuOn] = [sumOf(off.cpuMsPerOrder), sumOf(on.cpuMsPerOrder)].map((ms) => round(ms, 3)) as [
      number,
      number,
    ];
    return `| ${name} | ${off.completedPerSecond} → ${on.completedPerSecond} | ${change(off.completedPerSecond, on.completedPerSecond)} | ${cpuOff} → ${cpuOn} | ${change(cpuOff, cpuOn)} | ${off.machineBusyPercent} → ${on.machineBusyPercent} | ${off.http.p99} → ${on.http.p99} | ${off.completion.p99} → ${on.completion.p99} |`;
  };
  const rounds = cost.rounds.map((r, i) =>
    compare(`round ${i + 1}, max (${r.observedFirst ? 'observed first' : 'plain first'})`, r.plain, r.observed),
  );
  const plain = report.runs.find((run) => run.replicas === cost.replicas);
  const rates = cost.phases.flatMap((on) => {
    const off = plain?.phases.find((p) => p.name === on.name);
    return off ? [compare(on.name, off, on)] : [];
  });
  const header = `| phase | completed/s, off → on | change | CPU ms per order, all, off → on | change | machine busy %, off → on | HTTP p99 ms | completion p99 ms |
|---|---|---|---|---|---|---|---|`;
  return `
## What metrics and tracing cost (${cost.replicas}×)

**Maximum throughput with metrics scraped and traces exported: ${cost.cost.percent} % below
without** (Σ completed/s of the observed stacks against the plain ones, over ${cost.rounds.length} round(s);
the rounds' own costs: median ${cost.cost.median} %, from ${cost.cost.lowest} to ${cost.cost.highest} %).
An observed stack exports the spans of ${round(cost.traceRatio * 100, 1)} % of the orders by OTLP/HTTP to a collector
(${cost.spans} spans in ${cost.requests} export requests over the observed stacks) while Debian's
Prometheus scrapes every replica with observability/prometheus/native.yml; a plain one exports no spans
and nothing scrapes it (its counters count all the same: they cannot be switched off). Each round runs
both, one after the other, in turn first, so the machine's drift falls on both. Invariants: ${cost.invariants === 'held' ? 'held' : cost.invariants.join('; ')}.

${header}
${rounds.join('\n')}

The last observed stack then ran the fixed rates, beside the same rates of the plain ${cost.replicas}× run above:

${header}
${rates.join('\n')}

The Gozon dashboard over that last stack, rendered from the Grafana dashboard's queries: ${cost.dashboard}.
`;
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
        `| ${run.replicas} | ${p.name} | ${round(sumOf(p.cpuMsPerOrder), 2)} | ${byCost(p.cpuMsPerOrder)
          .map(([name, ms]) => `${name} ${ms}`)
          .join(', ')} | ${byCost(p.cpuPercent)
          .map(([name, percent]) => `${name} ${percent}%`)
          .join(', ')} | ${round(sumOf(p.wakeupsPerOrder), 1)}: ${byCost(p.wakeupsPerOrder)
          .map(([name, n]) => `${name} ${n}`)
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
orders per second), the same as % of one core, and how often each woke per order (its threads'
voluntary context switches: a loop that runs without work shows here first).

| replicas | phase | CPU ms per order, all | CPU ms per order, by process | % of one core | wake-ups per order, all: by process |
|---|---|---|---|---|---|
${cpu.join('\n')}
${report.runs.map(renderStreams).join('')}${renderObservabilityCost(report)}`;
}
