// `npm run bench`: the whole pipeline under load, measured beside what the
// hardware allows. For each replica count (BENCH_REPLICAS, default "1,2") it
// starts the native stack, opens and tops up wallets, drives orders through
// :8080 from this process — at the maximum rate (BENCH_MAX_SECONDS, 60 s),
// then at fixed rates (BENCH_RATES, "250,500,1000,2000" orders/s, each for
// BENCH_RATE_SECONDS, 20 s) — and measures accepted/s, completed/s, HTTP and
// completion latency (from the orders' own timestamps), CPU per process, and
// the money invariants at the end. In the first run, BENCH_STREAMS users then
// hold live-status streams through the gateway while orders are placed for them
// at BENCH_STREAM_RATES (the replica's memory per stream, commit-to-client
// latency). pgbench runs the create-order transaction
// at 16 clients on the same PostgreSQL as the yardstick. Reports go to
// bench/results/ as JSON, Markdown and an SVG chart; the folder is git-ignored
// (the docs quote the run they cite: docs/performance.md).
//
// This file runs the phases and says how they went; the load, the CPU, the
// databases' figures, pgbench, the statistics, the chart and the Markdown are
// each a module beside it.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { readConfig } from '@gozon/platform';
import { auditFailures, auditStack, POSTGRES_URL, startStack, waitForQuiet } from '@gozon/testkit';
import { renderChart } from './chart.ts';
import { readCpuTicks, readMachineTicks, readProcessGroups, toBusyPercent, toCpuPercent } from './cpu.ts';
import { countCommits, readCompletion } from './database.ts';
import { closeConnections, openWallets, runPhase, type PhasePlan } from './load.ts';
import { runPgbench } from './pgbench.ts';
import { renderMarkdown, type PhaseResult, type Report, type Run } from './report.ts';
import { settings } from './settings.ts';
import { round, summarizeHttp } from './stats.ts';
import { openStreams } from './streams.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const RESULTS = join(ROOT, 'bench/results');
const DRAIN_TIMEOUT_MS = 300_000;

const config = readConfig(settings);

const say = (line: string) => process.stdout.write(`[bench] ${line}\n`);

type Stack = Awaited<ReturnType<typeof startStack>>;

/**
 * One phase of the plan on a running stack, with the readings around it (CPU
 * per process, the machine, commits), then the wait until the backlog has
 * drained; answers its figures and the ids of the orders it placed.
 */
async function measurePhase(
  stack: Stack,
  plan: PhasePlan,
  users: string[],
): Promise<{ result: PhaseResult; accepted: string[] }> {
  const before = readCpuTicks(await readProcessGroups(stack.dir));
  const machineBefore = readMachineTicks();
  const commitsBefore = await countCommits(stack.databases);
  const phase = await runPhase(plan, users, config.BENCH_CONNECTIONS);
  const machineAfter = readMachineTicks();
  const commitsAfter = await countCommits(stack.databases);
  const after = readCpuTicks(await readProcessGroups(stack.dir));
  const drainStarted = Date.now();
  const stuck = await waitForQuiet(stack, DRAIN_TIMEOUT_MS, say);
  const drainSeconds = round((Date.now() - drainStarted) / 1000);
  const cpu = toCpuPercent(before, after, (phase.ended - phase.started) / 1000);
  const machineBusyPercent = toBusyPercent(machineBefore, machineAfter);
  const completion = await readCompletion(stack.databases[0]!, phase);
  // CPU time each order cost in each process: what limits the rate once the machine is busy.
  const cpuMsPerOrder = Object.fromEntries(
    Object.entries(cpu).map(([group, percent]) => [
      group,
      round((10 * percent) / Math.max(1, completion.completedPerSecond), 3),
    ]),
  );
  // Statistics reach pg_stat_database within a second: near enough over a phase of many.
  const [ordersCommits, paymentsCommits] = commitsAfter.map((n, i) =>
    round((n - commitsBefore[i]!) / Math.max(1, phase.accepted.length), 2),
  );
  const transactionsPerOrder = { orders: ordersCommits!, payments: paymentsCommits! };
  const { name, rate, seconds } = plan;
  const result = {
    name,
    rate,
    seconds,
    drainSeconds,
    stuck,
    ...summarizeHttp(phase),
    ...completion,
    machineBusyPercent,
    transactionsPerOrder,
    cpuPercent: cpu,
    cpuMsPerOrder,
  };
  return { result, accepted: phase.accepted };
}

/**
 * Live order status on a running stack: BENCH_STREAMS users of their own, each
 * with a wallet and one stream open through the gateway, then a phase at each
 * of BENCH_STREAM_RATES placing orders for them; the ids it placed go into
 * `acceptedAll` for the money audit.
 */
async function benchStreams(stack: Stack, acceptedAll: string[]): Promise<NonNullable<Run['streams']>> {
  const users = Array.from({ length: config.BENCH_STREAMS }, (_, i) => `stream-${i}`);
  say(`streams: opening ${users.length} wallets, then ${users.length} streams through the gateway`);
  await openWallets(users);
  const clients = await openStreams(stack.dir, users);
  const { memory } = clients;
  say(
    `streams: orders-api RSS ${memory.rssBeforeKiB} KiB → ${memory.rssAfterKiB} KiB with ${memory.streams} open: ${memory.perStreamKiB} KiB each`,
  );
  try {
    const phases = [];
    for (const rate of config.BENCH_STREAM_RATES) {
      const plan = { name: `${rate}/s, ${users.length} streams`, seconds: config.BENCH_RATE_SECONDS, rate };
      say(`streams: ${plan.name} for ${plan.seconds} s`);
      clients.startPhase();
      const { result, accepted } = await measurePhase(stack, plan, users);
      for (const id of accepted) acceptedAll.push(id);
      const delivery = await clients.delivery(accepted);
      say(
        `streams: ${plan.name}: ${delivery.delivered} final statuses pushed, ${delivery.missing} missing, ` +
          `${delivery.ended} streams ended; relay commit → client p50 ${delivery.latency.p50} ms, p99 ${delivery.latency.p99} ms`,
      );
      phases.push({ ...result, delivery });
    }
    return { memory, phases };
  } finally {
    await clients.close();
  }
}

/** The whole plan on a stack of its own with `replicas` of each worker, then the money audit of every order it placed. */
async function benchReplicas(replicas: number): Promise<Run> {
  say(`stack with ${replicas} relay(s) and ${replicas} worker(s) per domain`);
  // One of each API, as every figure in docs/performance.md was measured: only the workers vary.
  const stack = await startStack(`bench${replicas}`, {
    STACK_REPLICAS: String(replicas),
    STACK_API_REPLICAS: '1',
    LOG_LEVEL: 'warn',
  });
  try {
    const users = Array.from({ length: config.BENCH_WALLETS }, (_, i) => `bench-${replicas}-${i}`);
    await openWallets(users);
    const phases = [];
    const acceptedAll: string[] = [];
    const plan: PhasePlan[] = [
      { name: 'max', seconds: config.BENCH_MAX_SECONDS, rate: null },
      ...config.BENCH_RATES.map((rate) => ({ name: `${rate}/s`, seconds: config.BENCH_RATE_SECONDS, rate })),
    ];
    for (const step of plan) {
      say(`${replicas}×: ${step.name} for ${step.seconds} s`);
      const { result, accepted } = await measurePhase(stack, step, users);
      for (const id of accepted) acceptedAll.push(id); // a spread of 100,000s of ids overflows the stack
      say(
        `${replicas}×: ${step.name}: ${result.acceptedPerSecond} accepted/s, ${result.completedPerSecond} completed/s, ` +
          `HTTP p99 ${result.http.p99} ms, completion p99 ${result.completion.p99} ms, drained in ${result.drainSeconds} s`,
      );
      phases.push(result);
    }
    const streams =
      config.BENCH_STREAMS > 0 && replicas === config.BENCH_REPLICAS[0]
        ? await benchStreams(stack, acceptedAll)
        : undefined;
    const failures = auditFailures(await auditStack(stack, acceptedAll));
    return { replicas, phases, ...(streams ? { streams } : {}), invariants: failures.length === 0 ? 'held' : failures };
  } finally {
    const code = await stack.stop();
    if (code !== 0) say(`the stack stopped with code ${code}`);
  }
}

/** pgbench, then the plan for each replica count. */
async function runBench(): Promise<Report> {
  const at = new Date().toISOString();
  say(`pgbench yardstick (16 clients, 15 s)`);
  const yardstick = await runPgbench();
  say(`pgbench: ${yardstick.tps} tps, machine ${yardstick.machineBusyPercent}% busy`);
  const runs = [];
  for (const replicas of config.BENCH_REPLICAS) runs.push(await benchReplicas(replicas));
  return {
    at,
    cores: cpus().length,
    machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(Number(execFileSync('nproc').toString()))} cores online`,
    pgbenchTps: yardstick.tps,
    pgbenchMachineBusyPercent: yardstick.machineBusyPercent,
    postgres: POSTGRES_URL,
    runs,
  };
}

/** bench/results/: the report as JSON and Markdown, latest and timestamped, and a chart per run. */
function writeReports(report: Report) {
  mkdirSync(RESULTS, { recursive: true });
  const stamp = report.at.replace(/[:.]/g, '-');
  const json = JSON.stringify(report, null, 2);
  writeFileSync(join(RESULTS, `bench-${stamp}.json`), json);
  writeFileSync(join(RESULTS, 'latest.json'), json);
  writeFileSync(join(RESULTS, 'latest.md'), renderMarkdown(report));
  writeFileSync(join(RESULTS, `bench-${stamp}.md`), renderMarkdown(report));
  for (const run of report.runs) writeFileSync(join(RESULTS, `latest-${run.replicas}x.svg`), renderChart(run));
}

const report = await runBench();
writeReports(report);
closeConnections();
say(`report: bench/results/latest.md (and .json, latest-<n>x.svg)`);
const broken = report.runs.filter((run) => run.invariants !== 'held');
if (broken.length > 0) {
  say(`INVARIANTS BROKEN: ${JSON.stringify(broken.map((r) => r.invariants))}`);
  process.exitCode = 1;
}
