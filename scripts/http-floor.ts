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
// bench reads it. Port 8080 must be free (no stack running).
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
import { createInterface } from 'node:readline';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import pg from 'pg';
import { ordersMigrations } from '@gozon/orders';
import { readConfig } from '@gozon/platform';
import { LIFTED_BUDGETS, createTestDatabase, waitFor } from '@gozon/testkit';
import { readCpuTicks, type CpuTicks } from './bench/cpu.ts';
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
  // One connection, as orders-api's grouped insert has one statement in flight at a time.
  const pool =
    kind === 'node:http + insert' ? new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 1 }) : undefined;
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

/** CPU ms and wake-ups per request of each group between two readings (/proc's ticks are 10 ms). */
function perRequest(before: CpuTicks, after: CpuTicks, requests: number) {
  const sums = new Map<string, { ms: number; wakeups: number }>();
  for (const [pid, reading] of after) {
    const sum = sums.get(reading.group) ?? { ms: 0, wakeups: 0 };
    sum.ms += (reading.ticks - (before.get(pid)?.ticks ?? 0)) * 10;
    sum.wakeups += reading.wakeups - (before.get(pid)?.wakeups ?? 0);
    sums.set(reading.group, sum);
  }
  return [...sums].map(([group, { ms, wakeups }]) => ({
    group,
    ms: ms / requests,
    wakeups: wakeups / requests,
  }));
}

function start(command: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(command[0]!, command.slice(1), {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
}

/** The first line `child` prints. */
async function firstLine(child: ChildProcess): Promise<string> {
  for await (const line of createInterface({ input: child.stdout! })) return line;
  throw new Error('the upstream exited before it listened');
}

async function measure(kind: Upstream, plans: PhasePlan[], connections: number) {
  const database = kind === 'node:http + insert' ? await createTestDatabase('http_floor', ordersMigrations) : undefined;
  const upstream = start(
    [process.execPath, import.meta.filename, 'serve', kind],
    database ? { DATABASE_URL: database.url } : {},
  );
  const backend = Number(await firstLine(upstream));
  const stack = readConfig(stackSettings, {
    ...LIFTED_BUDGETS,
    STACK_DIR: join(tmpdir(), 'gozon-http-floor'),
    ORDERS_API_PORT: String(UPSTREAM_PORT),
    STACK_API_REPLICAS: '1',
  });
  const nginx = start(writeNginxConfig(stack));
  try {
    await waitFor(
      `${kind} behind nginx`,
      async () => {
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
      const phase = await runPhase(plan, ['floor'], connections);
      const after = readCpuTicks(groups);
      const requests = phase.samples.at.length;
      const costs = perRequest(before, after, requests);
      rows.push({
        upstream: kind,
        phase: plan.name,
        'requests/s': Math.round(requests / plan.seconds),
        failed: phase.samples.failures.length,
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
    nginx.kill('SIGQUIT');
    upstream.kill();
    await database?.drop();
  }
}

if (process.argv[2] === 'serve') {
  await serveUpstream(process.argv[3] as Upstream);
} else {
  const seconds = Number(process.argv[3] ?? 20);
  const plans: PhasePlan[] = [
    ...(process.argv[2] ?? '250,1000').split(',').map((phase) => {
      const [rate, burst = 1] = phase.split('x').map(Number);
      return { name: burst > 1 ? `${rate}/s in bursts of ${burst}` : `${rate}/s`, seconds, rate: rate!, burst };
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
