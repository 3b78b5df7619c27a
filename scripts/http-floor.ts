// The floor under the HTTP front (issue 17): what the bench's load generator,
// nginx with the gateway's own config, and an upstream that does no work of ours
// cost per order request, at fixed rates and flat out. The upstream answers
// every POST with 201 and an order id, three ways: node:http alone; a Hono app
// with one route on @hono/node-server, as orders-api is served; and node:http
// storing each order as the bench's pgbench yardstick does (an order and its
// outbox row, here in one autocommitted statement on one connection), its
// PostgreSQL backend counted too. Whatever design takes one order per HTTP
// request through the gateway pays at least the first; one that also stores it
// durably, at least the third. The bench's figures for the same processes
// less these are what orders-api's own work costs. CPU from /proc, as the
// bench reads it. Ports 8080, 3000 (nginx) and 18090 (the upstream) must be
// free: no stack running.
// A rate written RxB sends R requests a second in bursts of B, B/R seconds
// apart: the same work in fewer activations of each process.
//   node scripts/http-floor.ts [rates=250,1000] [seconds=20] [upstreams=all]
//   e.g. node scripts/http-floor.ts 250,250x5 20 'node:http + insert'
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import pg from 'pg';
import { ordersMigrations } from '@gozon/orders';
import { readConfig } from '@gozon/platform';
import { LIFTED_BUDGETS, createTestDatabase, waitFor } from '@gozon/testkit';
import { TICKS, readCpuTicks, readMachineTicks, sumByGroup, toBusyPercent, type CpuTicks } from './bench/cpu.ts';
import { closeConnections, runPhase, type PhasePlan } from './bench/load.ts';
import { settings as benchSettings } from './bench/settings.ts';
import { writeNginxConfig } from './stack/nginx.ts';
import { settings as stackSettings } from './stack/settings.ts';

const UPSTREAM_PORT = 18_090;
const UPSTREAMS = ['node:http', 'hono', 'node:http + insert'] as const;
type Upstream = (typeof UPSTREAMS)[number];

/** The create-order transaction of scripts/bench/pgbench.ts as one statement: one round trip, autocommitted. */
const INSERT_ORDER = `with placed as (
  insert into "order" (id, user_id, amount, description) values ($1, 'floor', 100, 'floor order') returning id
) insert into outbox_message (id, type, body, traceparent)
  select gen_random_uuid(), 'payment.requested', '{"amount": 1}', null from placed`;

/**
 * Runs as the upstream child: answers every request 201 with an order id once its body has arrived
 * (and, storing, once the order is stored). Prints one line once it listens: its PostgreSQL
 * backend's pid when it stores, else 0.
 */
async function serveUpstream(kind: Upstream): Promise<void> {
  // Gone with the measuring process, however it ends: its end of our stdin closes.
  process.stdin.on('end', () => process.exit(0)).resume();
  const answer = (id: string) => JSON.stringify({ order_id: id });
  const listening = (backend: number) => () => console.log(backend);
  if (kind === 'hono') {
    const app = new Hono();
    app.post('*', async (c) => {
      await c.req.json();
      return c.body(answer(randomUUID()), 201, { 'content-type': 'application/json' });
    });
    serve({ fetch: app.fetch, port: UPSTREAM_PORT, hostname: '127.0.0.1' }, listening(0));
    return;
  }
  // One connection, as orders-api's grouped insert has one statement in flight at a time, and never
  // closed while idle: its backend's pid is the one counted.
  const pool =
    kind === 'node:http + insert'
      ? new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 1, idleTimeoutMillis: 0 })
      : undefined;
  const backend = pool ? (await pool.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid : 0;
  http
    .createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        const id = randomUUID();
        const reply = () => response.writeHead(201, { 'content-type': 'application/json' }).end(answer(id));
        if (!pool) return reply();
        pool.query(INSERT_ORDER, [id]).then(reply, (error: Error) => response.writeHead(500).end(error.message));
      });
    })
    .listen(UPSTREAM_PORT, '127.0.0.1', listening(backend));
}

/** The pids of `root` and its children (nginx's workers), from /proc. */
function withChildren(root: number): number[] {
  const children = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        return Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]) === root;
      } catch {
        return false;
      }
    });
  return [root, ...children.map(Number)];
}

/** CPU ms and wake-ups per request of each group between two readings. */
function perRequest(before: CpuTicks, after: CpuTicks, requests: number) {
  const wakeups = sumByGroup(before, after, 'wakeups');
  return [...sumByGroup(before, after, 'ticks')].map(([group, ticks]) => ({
    group,
    ms: (ticks * 1000) / TICKS / requests,
    wakeups: (wakeups.get(group) ?? 0) / requests,
  }));
}

function start(command: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(command[0]!, command.slice(1), {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
}

/** The first line `child` prints, within 15 s. */
async function firstLine(child: ChildProcess): Promise<string> {
  const printed = (async () => {
    for await (const line of createInterface({ input: child.stdout! })) return line;
    throw new Error('the upstream exited before it listened');
  })();
  const late = sleep(15_000, undefined, { ref: false }).then(() => {
    throw new Error('the upstream did not listen within 15 s');
  });
  return Promise.race([printed, late]);
}

/** Whether something accepts connections on `port` of 127.0.0.1. */
function answers(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(port, '127.0.0.1');
    const end = (answered: boolean) => {
      socket.destroy();
      done(answered);
    };
    socket.once('connect', () => end(true)).once('error', () => end(false));
    socket.setTimeout(2000, () => end(false));
  });
}

/** What the measurement started, undone last first: after each upstream, on a failure, or on a signal. */
const started: Array<() => unknown> = [];
async function undoAll(): Promise<void> {
  while (started.length > 0) await started.pop()!();
}
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => void undoAll().finally(() => process.exit(1)));

async function measure(kind: Upstream, plans: PhasePlan[], connections: number) {
  const stack = readConfig(stackSettings, {
    ...LIFTED_BUDGETS,
    STACK_DIR: join(tmpdir(), 'gozon-http-floor'),
    ORDERS_API_PORT: String(UPSTREAM_PORT),
    STACK_API_REPLICAS: '1',
  });
  for (const port of [stack.GATEWAY_PORT, stack.UI_PORT, UPSTREAM_PORT])
    if (await answers(port)) throw new Error(`something answers on port ${port} already (is a stack running?)`);
  try {
    const database =
      kind === 'node:http + insert' ? await createTestDatabase('http_floor', ordersMigrations) : undefined;
    if (database) started.push(() => database.drop());
    const upstream = start(
      [process.execPath, import.meta.filename, 'serve', kind],
      database ? { DATABASE_URL: database.url } : {},
    );
    started.push(() => upstream.kill());
    const backend = Number(await firstLine(upstream));
    const nginx = start(writeNginxConfig(stack));
    started.push(() => nginx.kill('SIGQUIT'));
    await waitFor(
      `${kind} behind nginx`,
      async () => {
        if (nginx.exitCode !== null) throw new Error(`nginx exited with code ${nginx.exitCode}`);
        const response = await fetch(`http://127.0.0.1:${stack.GATEWAY_PORT}/orders/create/floor`, {
          method: 'POST',
          body: '{}',
        }).catch(() => undefined);
        return response?.status === 201;
      },
      10_000,
    );
    const groups = new Map<number, string>([
      [process.pid, 'load generator'],
      [upstream.pid!, kind],
      ...withChildren(nginx.pid!).map((pid): [number, string] => [pid, 'nginx']),
      ...(backend ? [[backend, 'its PostgreSQL backend'] as [number, string]] : []),
    ]);
    const rows = [];
    for (const plan of plans) {
      const before = readCpuTicks(groups);
      const machineBefore = readMachineTicks();
      const phase = await runPhase(plan, ['floor'], connections);
      const after = readCpuTicks(groups);
      const requests = phase.samples.at.length;
      const costs = perRequest(before, after, requests);
      rows.push({
        upstream: kind,
        phase: plan.name,
        at: new Date(phase.started).toISOString().slice(11, 19),
        'requests/s': Math.round(requests / plan.seconds),
        failed: phase.samples.failures.length,
        'machine busy %': toBusyPercent(machineBefore, readMachineTicks()),
        'CPU ms per request, all': costs.reduce((sum, c) => sum + c.ms, 0).toFixed(3),
        ...Object.fromEntries(costs.map((c) => [`${c.group} ms`, c.ms.toFixed(3)])),
        'wake-ups per request, all': costs.reduce((sum, c) => sum + c.wakeups, 0).toFixed(2),
      });
      console.error(
        `[http-floor] ${kind}, ${rows.at(-1)!.phase}: ${rows.at(-1)!['CPU ms per request, all']} ms per request`,
      );
    }
    return rows;
  } finally {
    closeConnections();
    await undoAll();
  }
}

/** A positive whole number from the command line, or an error naming what it is. */
function positive(text: string, what: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${what} must be a positive whole number, not "${text}"`);
  return value;
}

if (process.argv[2] === 'serve') {
  await serveUpstream(process.argv[3] as Upstream);
} else {
  const seconds = positive(process.argv[3] ?? '20', 'seconds');
  const plans: PhasePlan[] = [
    ...(process.argv[2] ?? '250,1000').split(',').map((phase) => {
      const [rateText, burstText] = phase.split('x');
      const rate = positive(rateText!, 'a rate');
      const burst = burstText === undefined ? 1 : positive(burstText, 'a burst');
      return { name: burst > 1 ? `${rate}/s in bursts of ${burst}` : `${rate}/s`, seconds, rate, burst };
    }),
    { name: 'max', seconds, rate: null },
  ];
  const { BENCH_CONNECTIONS } = readConfig(benchSettings);
  const rows = [];
  const kinds = process.argv[4]?.split(',') ?? UPSTREAMS;
  const unknown = kinds.filter((kind) => !(UPSTREAMS as readonly string[]).includes(kind));
  if (unknown.length > 0) throw new Error(`unknown upstream ${unknown.join(', ')}: one of ${UPSTREAMS.join(', ')}`);
  for (const kind of kinds) rows.push(...(await measure(kind as Upstream, plans, BENCH_CONNECTIONS)));
  console.table(rows);
}
