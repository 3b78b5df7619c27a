// `npm run bench`: the whole pipeline under load, measured beside what the
// hardware allows. For each replica count (BENCH_REPLICAS, default "1,2") it
// starts the native stack, opens and tops up wallets, drives orders through
// :8080 from this process — at the maximum rate (BENCH_MAX_SECONDS, 60 s),
// then at fixed rates (BENCH_RATES, "250,500,1000,2000" orders/s, each for
// BENCH_RATE_SECONDS, 20 s) — and measures accepted/s, completed/s, HTTP and
// completion latency (from the orders' own timestamps), CPU per process, and
// the money invariants at the end. pgbench runs the create-order transaction
// at 16 clients on the same PostgreSQL as the yardstick. Reports go to
// bench/results/ as JSON, Markdown and an SVG chart; the folder is git-ignored
// (the docs quote the run they cite: docs/performance.md).

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ordersMigrations } from '@gozon/orders';
import { auditFailures, auditStack, createTestDatabase, POSTGRES_URL, startStack, waitForQuiet, withDb } from '@gozon/testkit';

const ROOT = resolve(import.meta.dirname, '..');
const RESULTS = join(ROOT, 'bench/results');
const env = (name: string, fallback: string) => process.env[name] ?? fallback;
const REPLICAS = env('BENCH_REPLICAS', '1,2').split(',').map(Number);
const MAX_SECONDS = Number(env('BENCH_MAX_SECONDS', '60'));
const RATE_SECONDS = Number(env('BENCH_RATE_SECONDS', '20'));
const RATES = env('BENCH_RATES', '250,500,1000,2000').split(',').filter(Boolean).map(Number);
const CONNECTIONS = Number(env('BENCH_CONNECTIONS', '64'));
const WALLETS = Number(env('BENCH_WALLETS', '200'));
const MAX_IN_FLIGHT = 1024;

const say = (line: string) => process.stdout.write(`[bench] ${line}\n`);
const agent = new http.Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT });

function post(path: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((done, fail) => {
    const request = http.request(
      { host: '127.0.0.1', port: 8080, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () => done({ status: response.statusCode ?? 0, text }));
      },
    );
    request.on('error', fail);
    request.end(body);
  });
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

/**
 * What each request of a phase did, a column per field: plain arrays of small
 * numbers cost the collector next to nothing, where an object per request (over
 * 150,000 a phase) made this process pause for up to 40 ms, and every request in
 * flight looked that much slower.
 */
class Samples {
  readonly at: number[] = []; // ms since the phase started
  readonly latency: number[] = [];
  /** Requests not answered 201: the status, or the network error's code. */
  readonly failures: string[] = [];

  add(at: number, latency: number, outcome: number | string) {
    this.at.push(at);
    this.latency.push(latency);
    if (outcome !== 201) this.failures.push(String(outcome));
  }
}

// ---- CPU of every process of the stack, from /proc (clock ticks of user + system time)

const TICKS = 100;

/**
 * Which process is whose: the stack's own (pids.json), RabbitMQ, nginx, this
 * load generator, and PostgreSQL's backends by the service they serve — every
 * pool names its service in application_name — and its own background work by
 * kind (walwriter, autovacuum, ...).
 */
async function processGroups(stackDir: string): Promise<Map<number, string>> {
  const groups = new Map<number, string>();
  const pids = JSON.parse(readFileSync(join(stackDir, 'pids.json'), 'utf8')) as Record<string, number>;
  for (const [name, pid] of Object.entries(pids)) groups.set(pid, name === 'gateway' ? 'nginx' : name);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      const pid = Number(entry);
      if (comm === 'postgres') groups.set(pid, 'postgresql: other');
      else if (comm === 'beam.smp') groups.set(pid, 'rabbitmq');
      else if (comm === 'nginx' && !groups.has(pid)) groups.set(pid, 'nginx');
    } catch {
      // gone
    }
  }
  const backends = await withDb('postgres', (client) =>
    client.query<{ pid: number; name: string }>(
      `select pid, case when backend_type = 'client backend' then coalesce(nullif(application_name, ''), 'other') else backend_type end as name from pg_stat_activity`,
    ),
  );
  for (const { pid, name } of backends.rows) groups.set(pid, `postgresql: ${name}`);
  groups.set(process.pid, 'bench (load generator)');
  return groups;
}

/** Clock ticks of user + system time of each process now, named by its group. */
function cpuTicks(groups: Map<number, string>): Map<number, { group: string; ticks: number }> {
  const ticks = new Map<number, { group: string; ticks: number }>();
  for (const [pid, group] of groups) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks.set(pid, { group, ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // exited
    }
  }
  return ticks;
}

/**
 * % of one core per group over the phase. Each process counts what it used
 * between the two readings; one that started meanwhile counts from zero, one
 * that exited meanwhile (a short-lived PostgreSQL backend) is left out rather
 * than subtracted.
 */
function cpuPercent(before: ReturnType<typeof cpuTicks>, after: ReturnType<typeof cpuTicks>, seconds: number): Record<string, number> {
  const used = new Map<string, number>();
  for (const [pid, { group, ticks }] of after) used.set(group, (used.get(group) ?? 0) + ticks - (before.get(pid)?.ticks ?? 0));
  return Object.fromEntries([...used].map(([group, ticks]) => [group, round((100 * ticks) / TICKS / seconds)]));
}

/** Transactions committed so far in each of the stack's databases (orders, payments). */
async function commits(databases: string[]): Promise<number[]> {
  const result = await withDb('postgres', (client) =>
    client.query<{ datname: string; n: string }>(`select datname, xact_commit as n from pg_stat_database where datname = any($1)`, [databases]),
  );
  return databases.map((name) => Number(result.rows.find((row) => row.datname === name)?.n ?? 0));
}

/** Busy and idle ticks of the whole machine, all cores (from /proc/stat's first line). */
function machineTicks(): { busy: number; total: number } {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const ticks = values.map(Number);
  const idle = ticks[3]! + ticks[4]!;
  const total = ticks.slice(0, 8).reduce((sum, t) => sum + t, 0);
  return { busy: total - idle, total };
}

// ---- load

async function runPhase(name: string, seconds: number, rate: number | null, users: string[]) {
  const samples = new Samples();
  const accepted: string[] = [];
  let skipped = 0;
  let inFlight = 0;
  let next = 0;
  const started = Date.now();
  const deadline = started + seconds * 1000;
  const send = async () => {
    const user = users[next++ % users.length]!;
    const at = Date.now();
    inFlight += 1;
    try {
      const response = await post(`/orders/create/${user}`, `{"amount": ${1 + (next % 50)}.${String(next % 100).padStart(2, '0')}, "description": "bench"}`);
      if (response.status === 201) accepted.push((JSON.parse(response.text) as { order_id: string }).order_id);
      samples.add(at - started, Date.now() - at, response.status);
    } catch (error) {
      samples.add(at - started, Date.now() - at, (error as NodeJS.ErrnoException).code ?? String(error));
    } finally {
      inFlight -= 1;
    }
  };
  if (rate === null) {
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        while (Date.now() < deadline) await send();
      }),
    );
  } else {
    // Open loop: requests go out on schedule whether or not earlier ones have answered.
    const pending = new Set<Promise<void>>();
    let issued = 0;
    while (Date.now() < deadline) {
      const due = Math.floor(((Date.now() - started) / 1000) * rate);
      while (issued < due) {
        issued += 1;
        if (inFlight >= MAX_IN_FLIGHT) {
          skipped += 1;
          continue;
        }
        const request = send();
        pending.add(request);
        void request.finally(() => pending.delete(request));
      }
      await new Promise((tick) => setTimeout(tick, 2));
    }
    await Promise.all(pending);
  }
  return { name, rate, seconds, started, ended: Date.now(), samples, accepted, skipped };
}

type Phase = Awaited<ReturnType<typeof runPhase>>;

async function completionStats(ordersDb: string, phase: Phase) {
  return withDb(ordersDb, async (client) => {
    const window = [new Date(phase.started), new Date(phase.ended)];
    const latency = await client.query<{ p50: number; p95: number; p99: number; n: number }>(
      `select percentile_cont(0.5) within group (order by ms) as p50,
              percentile_cont(0.95) within group (order by ms) as p95,
              percentile_cont(0.99) within group (order by ms) as p99,
              count(*)::int as n
         from (select extract(epoch from updated_at - created_at) * 1000 as ms
                 from "order" where status <> 'NEW' and created_at between $1 and $2) t`,
      window,
    );
    const completedInWindow = await client.query<{ n: number }>(`select count(*)::int as n from "order" where status <> 'NEW' and updated_at between $1 and $2`, window);
    const perSecond = await client.query<{ second: number; completed: number; p99: number }>(
      `select floor(extract(epoch from updated_at - $1::timestamptz))::int as second, count(*)::int as completed,
              percentile_cont(0.99) within group (order by extract(epoch from updated_at - created_at) * 1000) as p99
         from "order" where status <> 'NEW' and updated_at >= $1 and created_at <= $2 group by 1 order by 1`,
      window,
    );
    const row = latency.rows[0]!;
    return {
      completion: { p50: round(row.p50 ?? 0), p95: round(row.p95 ?? 0), p99: round(row.p99 ?? 0), orders: row.n },
      completedPerSecond: round(completedInWindow.rows[0]!.n / phase.seconds),
      completionTimeline: perSecond.rows.map((r) => ({ second: r.second, completed: r.completed, completionP99: round(r.p99) })),
    };
  });
}

function httpStats(phase: Phase) {
  const { at, latency, failures } = phase.samples;
  const latencies = [...latency].sort((a, b) => a - b);
  const perSecond = new Map<number, number[]>();
  at.forEach((ms, i) => {
    const second = Math.floor(ms / 1000);
    const values = perSecond.get(second) ?? [];
    values.push(latency[i]!);
    perSecond.set(second, values);
  });
  return {
    requests: latency.length,
    errors: failures.length,
    errorsByOutcome: countBy(failures),
    skipped: phase.skipped,
    acceptedPerSecond: round(phase.accepted.length / phase.seconds),
    http: { p50: percentile(latencies, 0.5), p95: percentile(latencies, 0.95), p99: percentile(latencies, 0.99) },
    httpTimeline: [...perSecond.entries()]
      .sort(([a], [b]) => a - b)
      .map(([second, values]) => ({ second, accepted: values.length, httpP99: percentile(values.sort((a, b) => a - b), 0.99) })),
  };
}

// ---- the yardstick

async function pgbench(): Promise<{ tps: number; machineBusyPercent: number }> {
  const database = await createTestDatabase('pgbench', ordersMigrations);
  const script = join(tmpdir(), 'gozon-create-order.sql');
  writeFileSync(
    script,
    `\\set amount random(100, 100000)
BEGIN;
INSERT INTO "order" (id, user_id, amount, description) VALUES (gen_random_uuid(), 'pgbench', :amount, 'pgbench order');
INSERT INTO outbox_message (id, type, body, traceparent) VALUES (gen_random_uuid(), 'payment.requested', '{"amount": 1}', NULL);
COMMIT;
`,
  );
  try {
    const before = machineTicks();
    const output = execFileSync('pgbench', ['-n', '-c', '16', '-j', '2', '-T', '15', '-f', script, database.url], { encoding: 'utf8' });
    const tps = /tps = ([\d.]+)/.exec(output);
    if (!tps) throw new Error(`pgbench printed no tps:\n${output}`);
    const after = machineTicks();
    return { tps: Number(tps[1]), machineBusyPercent: round((100 * (after.busy - before.busy)) / (after.total - before.total)) };
  } finally {
    await database.drop();
  }
}

// ---- one configuration

async function benchReplicas(replicas: number) {
  say(`stack with ${replicas} relay(s) and ${replicas} worker(s) per domain`);
  const stack = await startStack(`bench${replicas}`, { STACK_REPLICAS: String(replicas), LOG_LEVEL: 'warn' });
  try {
    const users = Array.from({ length: WALLETS }, (_, i) => `bench-${replicas}-${i}`);
    for (const user of users) {
      const wallet = JSON.parse((await post(`/payments/create/${user}`, '')).text) as { bill_id: string };
      await post(`/payments/add/${wallet.bill_id}`, '{"amount": 100000000}');
    }
    const phases = [];
    const acceptedAll: string[] = [];
    const plan: Array<[string, number, number | null]> = [
      ['max', MAX_SECONDS, null],
      ...RATES.map((rate): [string, number, number | null] => [`${rate}/s`, RATE_SECONDS, rate]),
    ];
    for (const [name, seconds, rate] of plan) {
      say(`${replicas}×: ${name} for ${seconds} s`);
      const before = cpuTicks(await processGroups(stack.dir));
      const machineBefore = machineTicks();
      const commitsBefore = await commits(stack.databases);
      const phase = await runPhase(name, seconds, rate, users);
      const machineAfter = machineTicks();
      const commitsAfter = await commits(stack.databases);
      const after = cpuTicks(await processGroups(stack.dir));
      const drainStarted = Date.now();
      const stuck = await waitForQuiet(stack, 300_000, say);
      const drainSeconds = round((Date.now() - drainStarted) / 1000);
      for (const id of phase.accepted) acceptedAll.push(id); // a spread of 100,000s of ids overflows the stack
      const cpu = cpuPercent(before, after, (phase.ended - phase.started) / 1000);
      const machineBusyPercent = round((100 * (machineAfter.busy - machineBefore.busy)) / (machineAfter.total - machineBefore.total));
      const completion = await completionStats(stack.databases[0]!, phase);
      // CPU time each order cost in each process: what limits the rate once the machine is busy.
      const cpuMsPerOrder = Object.fromEntries(Object.entries(cpu).map(([group, percent]) => [group, round((10 * percent) / Math.max(1, completion.completedPerSecond), 3)]));
      // Statistics reach pg_stat_database within a second: near enough over a phase of many.
      const [ordersCommits, paymentsCommits] = commitsAfter.map((n, i) => round((n - commitsBefore[i]!) / Math.max(1, phase.accepted.length), 2));
      const transactionsPerOrder = { orders: ordersCommits!, payments: paymentsCommits! };
      const result = { name, rate, seconds, drainSeconds, stuck, ...httpStats(phase), ...completion, machineBusyPercent, transactionsPerOrder, cpuPercent: cpu, cpuMsPerOrder };
      say(
        `${replicas}×: ${name}: ${result.acceptedPerSecond} accepted/s, ${result.completedPerSecond} completed/s, ` +
          `HTTP p99 ${result.http.p99} ms, completion p99 ${result.completion.p99} ms, drained in ${drainSeconds} s`,
      );
      phases.push(result);
    }
    const failures = auditFailures(await auditStack(stack, acceptedAll));
    return { replicas, phases, invariants: failures.length === 0 ? 'held' : failures };
  } finally {
    const code = await stack.stop();
    if (code !== 0) say(`the stack stopped with code ${code}`);
  }
}

// ---- report

function svgChart(run: Awaited<ReturnType<typeof benchReplicas>>): string {
  const width = 960;
  const panel = 200;
  const points: Array<{ t: number; accepted: number; completed: number; httpP99: number; completionP99: number }> = [];
  let offset = 0;
  for (const phase of run.phases) {
    const completed = new Map(phase.completionTimeline.map((p) => [p.second, p]));
    for (const p of phase.httpTimeline) {
      const c = completed.get(p.second);
      points.push({ t: offset + p.second, accepted: p.accepted, completed: c?.completed ?? 0, httpP99: p.httpP99, completionP99: c?.completionP99 ?? 0 });
    }
    offset += phase.seconds + 2;
  }
  const maxT = Math.max(1, ...points.map((p) => p.t));
  const maxRate = Math.max(1, ...points.flatMap((p) => [p.accepted, p.completed]));
  const maxLatency = Math.max(1, ...points.flatMap((p) => [p.httpP99, p.completionP99]));
  const x = (t: number) => 50 + (t / maxT) * (width - 70);
  const line = (key: keyof (typeof points)[number], max: number, top: number, color: string) =>
    `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${points.map((p) => `${x(p.t).toFixed(1)},${(top + panel - (Number(p[key]) / max) * panel).toFixed(1)}`).join(' ')}"/>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${2 * panel + 120}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="50" y="20" font-size="14">Gozon, ${run.replicas} relay(s)/worker(s) per domain: orders per second (top), p99 latency in ms (bottom), phases ${run.phases.map((p) => p.name).join(', ')}</text>
<text x="5" y="45">${maxRate}/s</text><line x1="50" y1="${30 + panel}" x2="${width - 20}" y2="${30 + panel}" stroke="#ccc"/>
${line('accepted', maxRate, 30, '#2563eb')}${line('completed', maxRate, 30, '#16a34a')}
<text x="5" y="${75 + panel}">${maxLatency} ms</text><line x1="50" y1="${60 + 2 * panel}" x2="${width - 20}" y2="${60 + 2 * panel}" stroke="#ccc"/>
${line('httpP99', maxLatency, 60 + panel, '#dc2626')}${line('completionP99', maxLatency, 60 + panel, '#9333ea')}
<text x="50" y="${2 * panel + 100}"><tspan fill="#2563eb">■ accepted/s</tspan>  <tspan fill="#16a34a">■ completed/s</tspan>  <tspan fill="#dc2626">■ HTTP p99</tspan>  <tspan fill="#9333ea">■ completion p99</tspan>  (x: seconds of load, ${maxT} s in all)</text>
</svg>
`;
}

function markdown(report: Awaited<ReturnType<typeof main>>): string {
  const rows = report.runs.flatMap((run) =>
    run.phases.map(
      (p) =>
        `| ${run.replicas} | ${p.name} | ${p.acceptedPerSecond} | ${p.completedPerSecond} | ${round(p.completedPerSecond / report.pgbenchTps, 3)} | ${p.http.p50} / ${p.http.p95} / ${p.http.p99} | ${p.completion.p50} / ${p.completion.p95} / ${p.completion.p99} | ${p.errors === 0 ? 0 : `${p.errors} (${Object.entries(p.errorsByOutcome).map(([outcome, n]) => `${n}× ${outcome}`).join(', ')})`} | ${p.machineBusyPercent} | ${p.transactionsPerOrder.orders} / ${p.transactionsPerOrder.payments} | ${p.drainSeconds} |`,
    ),
  );
  const byCost = (values: Record<string, number>) =>
    Object.entries(values)
      .filter(([, value]) => value > 0)
      .sort(([, a], [, b]) => b - a);
  const cpu = report.runs.flatMap((run) =>
    run.phases.map(
      (p) =>
        `| ${run.replicas} | ${p.name} | ${round(Object.values(p.cpuMsPerOrder).reduce((sum, ms) => sum + ms, 0), 2)} | ${byCost(p.cpuMsPerOrder).map(([name, ms]) => `${name} ${ms}`).join(', ')} | ${byCost(p.cpuPercent).map(([name, percent]) => `${name} ${percent}%`).join(', ')} |`,
    ),
  );
  return `# Gozon benchmark, ${report.at}

Machine: ${report.machine}. Everything on it: PostgreSQL, RabbitMQ, nginx, the services and the load generator.
Yardstick: pgbench, the create-order transaction (order + outbox row) at 16 clients: **${report.pgbenchTps} tps**,
with the machine ${report.pgbenchMachineBusyPercent}% busy: ${round((report.cores * 10 * report.pgbenchMachineBusyPercent) / report.pgbenchTps, 3)} CPU ms per transaction, pgbench's client included.
Invariants after the load: ${report.runs.map((r) => `${r.replicas}×: ${r.invariants === 'held' ? 'held' : (r.invariants as string[]).join('; ')}`).join('; ')}.

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

async function main() {
  const at = new Date().toISOString();
  say(`pgbench yardstick (16 clients, 15 s)`);
  const yardstick = await pgbench();
  say(`pgbench: ${yardstick.tps} tps, machine ${yardstick.machineBusyPercent}% busy`);
  const runs = [];
  for (const replicas of REPLICAS) {
    const run = await benchReplicas(replicas);
    runs.push(run);
  }
  return { at, cores: cpus().length, machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(Number(execFileSync('nproc').toString()))} cores online`, pgbenchTps: yardstick.tps, pgbenchMachineBusyPercent: yardstick.machineBusyPercent, postgres: POSTGRES_URL, runs };
}

const report = await main();
mkdirSync(RESULTS, { recursive: true });
const stamp = report.at.replace(/[:.]/g, '-');
const json = JSON.stringify(report, null, 2);
writeFileSync(join(RESULTS, `bench-${stamp}.json`), json);
writeFileSync(join(RESULTS, 'latest.json'), json);
writeFileSync(join(RESULTS, 'latest.md'), markdown(report));
writeFileSync(join(RESULTS, `bench-${stamp}.md`), markdown(report));
for (const run of report.runs) {
  const svg = svgChart(run);
  writeFileSync(join(RESULTS, `latest-${run.replicas}x.svg`), svg);
}
agent.destroy();
say(`report: bench/results/latest.md (and .json, latest-<n>x.svg)`);
const broken = report.runs.filter((run) => run.invariants !== 'held');
if (broken.length > 0) {
  say(`INVARIANTS BROKEN: ${JSON.stringify(broken.map((r) => r.invariants))}`);
  process.exitCode = 1;
}
