import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, readConfig } from '@gozon/platform';
import { renderChart } from '../../bench/chart.ts';
import { readCpuTicks, toCpuPercent, toWakeupsPerOrder, type CpuTicks } from '../../bench/cpu.ts';
import { Samples, type Phase } from '../../bench/load.ts';
import { renderMarkdown, type PhaseResult, type Report } from '../../bench/report.ts';
import { settings } from '../../bench/settings.ts';
import { costOfWatching, observedFirstInRounds } from '../../bench/rounds.ts';
import { countBy, percentile, round, summarizeHttp } from '../../bench/stats.ts';

// The pure parts of `npm run bench`: the figures it prints and the report it
// writes. A wrong percentile or a mislaid column would misstate every run.

const stats = suite('bench statistics');

stats('a percentile of no samples is 0, not NaN or undefined', () => {
  assert.is(percentile([], 0.99), 0);
});

stats('p50, p95 and p99 pick by rank from the sorted samples, never past the slowest', () => {
  const latencies = Array.from({ length: 100 }, (_, i) => i + 1); // 1 … 100 ms
  assert.is(percentile(latencies, 0.5), 51);
  assert.is(percentile(latencies, 0.95), 96);
  assert.is(percentile(latencies, 0.99), 100);
  assert.is(percentile(latencies, 1), 100);
  assert.is(percentile([7], 0.99), 7);
});

stats('round keeps one decimal unless told otherwise', () => {
  assert.is(round(12.345), 12.3);
  assert.is(round(2 / 3, 3), 0.667);
});

stats('countBy counts each outcome', () => {
  assert.equal(countBy(['503', 'ECONNRESET', '503']), { '503': 2, ECONNRESET: 1 });
});

/** A phase of `seconds` whose requests went out at `at` ms and took `latency` ms each; outcomes 201 unless given. */
function phaseOf(seconds: number, requests: Array<{ at: number; latency: number; outcome?: number | string }>): Phase {
  const samples = new Samples();
  for (const { at, latency, outcome = 201 } of requests) samples.add(at, latency, outcome);
  const accepted = requests.filter((r) => (r.outcome ?? 201) === 201).map((_, i) => `order-${i}`);
  return { name: 'max', rate: null, seconds, started: 0, ended: seconds * 1000, samples, accepted, skipped: 0 };
}

stats(
  'summarizeHttp: latencies sorted before the percentiles, failures by outcome, accepted per second of the phase',
  () => {
    const phase = phaseOf(2, [
      { at: 10, latency: 30 },
      { at: 20, latency: 10 },
      { at: 1500, latency: 20, outcome: 503 },
      { at: 1600, latency: 40, outcome: 'ECONNRESET' },
      { at: 1700, latency: 50 },
    ]);
    const summary = summarizeHttp(phase);
    assert.is(summary.requests, 5);
    assert.is(summary.errors, 2);
    assert.equal(summary.errorsByOutcome, { '503': 1, ECONNRESET: 1 });
    assert.is(summary.acceptedPerSecond, 1.5);
    assert.equal(summary.http, { p50: 30, p95: 50, p99: 50 });
  },
);

stats(
  'summarizeHttp: the timeline has one row per second that sent something, in order, with that second’s p99',
  () => {
    const phase = phaseOf(3, [
      { at: 2100, latency: 5 },
      { at: 100, latency: 9 },
      { at: 200, latency: 3 },
    ]);
    assert.equal(summarizeHttp(phase).httpTimeline, [
      { second: 0, accepted: 2, httpP99: 9 },
      { second: 2, accepted: 1, httpP99: 5 },
    ]);
  },
);

stats.run();

const plan = suite('bench settings (BENCH_*)');

plan('the defaults are the plan docs/performance.md describes', () => {
  assert.equal(readConfig(settings, {}), {
    BENCH_REPLICAS: [1, 2],
    BENCH_MAX_SECONDS: 60,
    BENCH_RATES: [250, 500, 1000, 2000],
    BENCH_RATE_SECONDS: 20,
    BENCH_CONNECTIONS: 64,
    BENCH_STREAMS: 1000,
    BENCH_STREAM_RATES: [500, 2000],
    BENCH_WALLETS: 200,
    BENCH_OBSERVED_ROUNDS: 4,
    BENCH_OBSERVED_SECONDS: 20,
    BENCH_TRACE_RATIO: 0.1,
  });
});

plan('lists take spaces and a trailing comma; an empty BENCH_RATES runs the maximum rate alone', () => {
  const config = readConfig(settings, { BENCH_REPLICAS: ' 1, 4,', BENCH_RATES: '', BENCH_STREAM_RATES: '' });
  assert.equal(config.BENCH_REPLICAS, [1, 4]);
  assert.equal(config.BENCH_RATES, []);
  assert.equal(config.BENCH_STREAM_RATES, []);
});

plan('a mistyped plan stops the run, naming every variable at fault', () => {
  try {
    readConfig(settings, { BENCH_REPLICAS: '', BENCH_RATES: '250,fast', BENCH_CONNECTIONS: '5000' });
    assert.unreachable('readConfig should have thrown');
  } catch (error) {
    assert.instance(error, ConfigError);
    const message = (error as Error).message;
    assert.match(message, 'BENCH_REPLICAS must list at least one integer from 1 to 16');
    assert.match(message, 'BENCH_RATES must be an integer from 1 to 100000, got "fast"');
    assert.match(message, 'BENCH_CONNECTIONS must be an integer from 1 to 1024');
  }
});

plan.run();

const report = suite('bench report');

function result(name: string, fields: Partial<PhaseResult> = {}): PhaseResult {
  return {
    name,
    rate: null,
    seconds: 10,
    drainSeconds: 0.4,
    stuck: 0,
    requests: 1000,
    errors: 0,
    errorsByOutcome: {},
    skipped: 0,
    acceptedPerSecond: 100,
    http: { p50: 2, p95: 5, p99: 9 },
    httpTimeline: [],
    completion: { p50: 20, p95: 50, p99: 90, orders: 1000 },
    completedPerSecond: 100,
    completionTimeline: [],
    machineBusyPercent: 50,
    transactionsPerOrder: { orders: 2, payments: 1 },
    cpuPercent: {},
    cpuMsPerOrder: {},
    wakeupsPerOrder: {},
    ...fields,
  };
}

function reportOf(runs: Report['runs']): Report {
  return {
    at: '2026-11-30T00:00:00.000Z',
    cores: 2,
    machine: '2 × test cpu',
    pgbenchTps: 4000,
    pgbenchMachineBusyPercent: 80,
    postgres: 'postgres://x',
    runs,
  };
}

report('a phase row: rates, the ratio to pgbench, the three percentiles of each latency, errors by outcome', () => {
  const markdown = renderMarkdown(
    reportOf([
      {
        replicas: 2,
        phases: [
          result('500/s', {
            acceptedPerSecond: 499.8,
            completedPerSecond: 498.6,
            errors: 3,
            errorsByOutcome: { '503': 2, ECONNRESET: 1 },
          }),
        ],
        invariants: 'held',
      },
    ]),
  );
  assert.ok(
    markdown.includes(
      '| 2 | 500/s | 499.8 | 498.6 | 0.125 | 2 / 5 / 9 | 20 / 50 / 90 | 3 (2× 503, 1× ECONNRESET) | 50 | 2 / 1 | 0.4 |',
    ),
    markdown,
  );
  assert.ok(markdown.includes('**4000 tps**,\nwith the machine 80% busy: 0.4 CPU ms per transaction'), markdown);
});

report('what watching costs: the cost over all rounds, each round side by side, the rates beside the plain run', () => {
  const markdown = renderMarkdown({
    ...reportOf([{ replicas: 1, phases: [result('500/s', { completedPerSecond: 500 })], invariants: 'held' }]),
    observability: {
      replicas: 1,
      traceRatio: 0.1,
      rounds: [
        {
          observedFirst: true,
          plain: result('max', { completedPerSecond: 1000, cpuMsPerOrder: { 'orders-api-1': 1 } }),
          observed: result('max', { completedPerSecond: 900, cpuMsPerOrder: { 'orders-api-1': 1.1 } }),
        },
        {
          observedFirst: false,
          plain: result('max', { completedPerSecond: 1000 }),
          observed: result('max', { completedPerSecond: 1000 }),
        },
      ],
      cost: { percent: 5, median: 5, lowest: 0, highest: 10 },
      phases: [result('500/s', { completedPerSecond: 498 })],
      spans: 1234,
      requests: 12,
      dashboard: 'bench/results/dashboard.png',
      invariants: ['1 orders still NEW'],
    },
  });
  assert.ok(markdown.includes('traces exported: 5 % below'), markdown);
  assert.ok(markdown.includes('median 5 %, from 0 to 10 %'), markdown);
  assert.ok(markdown.includes('1234 spans in 12 export requests'), markdown);
  assert.ok(markdown.includes('| round 1, max (observed first) | 1000 → 900 | -10 % | 1 → 1.1 | 10 % |'), markdown);
  assert.ok(markdown.includes('| round 2, max (plain first) | 1000 → 1000 | 0 % |'), markdown);
  assert.ok(markdown.includes('| 500/s | 500 → 498 | -0.4 % |'), markdown);
  assert.ok(markdown.includes('Invariants: 1 orders still NEW.'), markdown);
});

report('the invariants line says what broke, run by run', () => {
  const markdown = renderMarkdown(
    reportOf([
      { replicas: 1, phases: [result('max')], invariants: 'held' },
      { replicas: 2, phases: [result('max')], invariants: ['3 accepted orders missing', '1 orders still NEW'] },
    ]),
  );
  assert.ok(
    markdown.includes('Invariants after the load: 1×: held; 2×: 3 accepted orders missing; 1 orders still NEW.'),
    markdown,
  );
});

report('where the CPU goes: the costliest process first, the idle ones left out, the total per order', () => {
  const markdown = renderMarkdown(
    reportOf([
      {
        replicas: 1,
        phases: [
          result('max', {
            cpuMsPerOrder: { nginx: 0.1, 'orders-api': 0.5, idle: 0 },
            cpuPercent: { nginx: 10, 'orders-api': 50, idle: 0 },
            wakeupsPerOrder: { nginx: 1.5, 'orders-api': 2.25, idle: 0 },
          }),
        ],
        invariants: 'held',
      },
    ]),
  );
  assert.ok(
    markdown.includes(
      '| 1 | max | 0.6 | orders-api 0.5, nginx 0.1 | orders-api 50%, nginx 10% | 3.8: orders-api 2.25, nginx 1.5 |',
    ),
    markdown,
  );
});

report('the chart lays the phases end to end, 2 s apart, with four lines', () => {
  const timeline = (seconds: number) =>
    Array.from({ length: seconds }, (_, second) => ({ second, accepted: 100, httpP99: 9 }));
  const svg = renderChart({
    replicas: 1,
    phases: [
      result('max', { seconds: 10, httpTimeline: timeline(10) }),
      result('250/s', { seconds: 5, httpTimeline: timeline(5) }),
    ],
    invariants: 'held',
  });
  assert.is(svg.match(/<polyline /g)?.length, 4);
  assert.match(svg, 'phases max, 250/s');
  assert.match(svg, '(x: seconds of load, 16 s in all)'); // the last second of the second phase: 10 + 2 + 4
});

report.run();

const rounds = suite('bench observability rounds');

rounds('the order takes turns and ends with the observed stack; an even count runs as many rounds each way', () => {
  assert.equal(observedFirstInRounds(4), [true, false, true, false]);
  assert.equal(observedFirstInRounds(3), [false, true, false]);
  assert.equal(observedFirstInRounds(1), [false]);
  assert.equal(observedFirstInRounds(0), []);
});

rounds('the cost is over the sums of all rounds, with the rounds’ own median and range', () => {
  assert.equal(
    costOfWatching([
      { plain: 1000, observed: 900 },
      { plain: 1000, observed: 1000 },
      { plain: 2000, observed: 1900 },
      { plain: 1000, observed: 980 },
    ]),
    { percent: 4.4, median: 3.5, lowest: 0, highest: 10 },
  );
  assert.equal(costOfWatching([{ plain: 1000, observed: 1100 }]), {
    percent: -10,
    median: -10,
    lowest: -10,
    highest: -10,
  });
});

rounds('nothing completed: no cost figure, not a division by zero', () => {
  assert.equal(costOfWatching([{ plain: 0, observed: 0 }]), {
    percent: null,
    median: null,
    lowest: null,
    highest: null,
  });
  assert.equal(costOfWatching([]), { percent: null, median: null, lowest: null, highest: null });
});

rounds.run();

const cpu = suite('bench CPU and wake-up accounting');

cpu(
  'per group: what each process used between two readings; one started meanwhile counts from zero, one gone is left out',
  () => {
    const before: CpuTicks = new Map([
      [1, { group: 'relay', ticks: 100, wakeups: 1000 }],
      [2, { group: 'postgresql: relay', ticks: 50, wakeups: 400 }],
      [3, { group: 'postgresql: relay', ticks: 10, wakeups: 10 }],
    ]);
    const after: CpuTicks = new Map([
      [1, { group: 'relay', ticks: 150, wakeups: 3000 }],
      [2, { group: 'postgresql: relay', ticks: 70, wakeups: 900 }],
      [4, { group: 'postgresql: relay', ticks: 5, wakeups: 100 }],
    ]);
    // 10 s: 50 ticks of 100 Hz are 0.5 s, 5 % of one core.
    assert.equal(toCpuPercent(before, after, 10), { relay: 5, 'postgresql: relay': 2.5 });
    assert.equal(toWakeupsPerOrder(before, after, 1000), { relay: 2, 'postgresql: relay': 0.6 });
    assert.equal(toWakeupsPerOrder(before, after, 0), { relay: 2000, 'postgresql: relay': 600 }, 'no orders: per one');
  },
);

cpu('a live process’s wake-ups are read from all of its threads and grow as it sleeps and wakes', async () => {
  const read = () => readCpuTicks(new Map([[process.pid, 'this test']])).get(process.pid)!.wakeups;
  const first = read();
  for (let i = 0; i < 5; i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.ok(read() >= first + 5, `${first} → ${read()}`);
});

cpu.run();
