// Live order status under load (issue 13): clients that hold
// GET /orders/events/{user_id} open through the gateway on :8080, one per
// user, on the stack's one orders-api replica. What it costs that replica to
// hold them (resident memory before and after they opened), and how long a
// settled order takes from orders-relay's transaction to the event at its
// client. The clients run in this process, beside the load generator.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readEventStream, waitFor } from '@gozon/testkit';
import { percentile, round } from './stats.ts';

/** Streams opened at once: each open reads its user's snapshot, so a thousand at once would queue on the pool. */
const OPENING_AT_ONCE = 50;
/** How long the replica is left to settle before and after the streams open, before its memory is read. */
const SETTLE_MS = 3000;
/** How long after a phase has drained every final event must have reached its client. */
const DELIVERY_TIMEOUT_MS = 15_000;

/** What holding the streams cost the orders-api replica: resident set sizes (KiB) and the difference per stream. */
export interface StreamMemory {
  streams: number;
  rssBeforeKiB: number;
  rssAfterKiB: number;
  perStreamKiB: number;
}

/** What the clients saw of one phase's orders. */
export interface StreamDelivery {
  /** Orders accepted in the phase whose final status reached their client. */
  delivered: number;
  /** Orders accepted in the phase whose final status never reached their client. */
  missing: number;
  /** Streams that ended while the phase ran or drained (the replica dropped or re-synced them). */
  ended: number;
  /**
   * ms from the order's updated_at (when orders-relay's update ran, the last
   * statement of the transaction that settled it; also the event id) to the
   * event's arrival here: the commit-to-client time plus the commit's own
   * round trip, so a little above the real figure, never below.
   */
  latency: { p50: number; p95: number; p99: number };
}

/** Streams held open by this process, and the final statuses they have brought. */
export interface StreamClients {
  memory: StreamMemory;
  /** Forgets what earlier phases brought: from now on, arrivals count for the next delivery(). */
  startPhase(): void;
  /** Waits (bounded) for the final status of each of `accepted` to have arrived, then sums the phase up. */
  delivery(accepted: string[]): Promise<StreamDelivery>;
  /** Closes every stream and waits until each has ended. */
  close(): Promise<void>;
}

/** The pid of the stack's one orders-api process, from its pids.json. */
function ordersApiPid(stackDir: string): number {
  const pids = JSON.parse(readFileSync(join(stackDir, 'pids.json'), 'utf8')) as Record<string, number>;
  const apis = Object.entries(pids).filter(([name]) => name.startsWith('orders-api'));
  if (apis.length !== 1) throw new Error(`the stream figures need one orders-api replica, found ${apis.length}`);
  return apis[0]![1];
}

/** Resident set size of a process in KiB (VmRSS in /proc/<pid>/status). */
function readRssKiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((row) => row.startsWith('VmRSS:'));
  return Number(line?.match(/\d+/)?.[0] ?? Number.NaN);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Opens one stream per user through the gateway, OPENING_AT_ONCE at a time,
 * and reads the orders-api replica's memory before and after. Throws if a
 * stream is refused or does not open within its wait.
 */
export async function openStreams(stackDir: string, users: string[]): Promise<StreamClients> {
  const pid = ordersApiPid(stackDir);
  const stop = new AbortController();
  const reading: Array<Promise<unknown>> = [];
  let arrivals = new Map<string, number>(); // order id → ms from its updated_at to here
  let ended = 0;

  const open = (user: string) =>
    new Promise<void>((opened, refused) => {
      const stream = readEventStream(`http://127.0.0.1:8080/orders/events/${user}`, {
        signal: stop.signal,
        onOpen: opened,
        onEvent: (event) => {
          if (event.event !== 'order' || event.id === undefined) return;
          const order = JSON.parse(event.data) as { order_id: string; status: string };
          if (order.status !== 'NEW') arrivals.set(order.order_id, Date.now() - Number(event.id));
        },
      }).then((end) => {
        if (end.status !== 200) refused(new Error(`a stream for ${user} was refused: ${end.status} ${end.refusal}`));
        else if (!stop.signal.aborted) ended += 1;
      });
      reading.push(stream);
    });

  await sleep(SETTLE_MS);
  const rssBeforeKiB = readRssKiB(pid);
  for (let i = 0; i < users.length; i += OPENING_AT_ONCE)
    await Promise.all(users.slice(i, i + OPENING_AT_ONCE).map(open));
  await sleep(SETTLE_MS);
  const rssAfterKiB = readRssKiB(pid);

  return {
    memory: {
      streams: users.length,
      rssBeforeKiB,
      rssAfterKiB,
      perStreamKiB: round((rssAfterKiB - rssBeforeKiB) / users.length),
    },
    startPhase() {
      arrivals = new Map();
      ended = 0;
    },
    async delivery(accepted) {
      await waitFor(
        'every final status at its client',
        async () => accepted.every((id) => arrivals.has(id)),
        DELIVERY_TIMEOUT_MS,
      ).catch(() => {});
      const latencies = accepted
        .map((id) => arrivals.get(id))
        .filter((ms) => ms !== undefined)
        .sort((a, b) => a - b);
      return {
        delivered: latencies.length,
        missing: accepted.length - latencies.length,
        ended,
        latency: {
          p50: percentile(latencies, 0.5),
          p95: percentile(latencies, 0.95),
          p99: percentile(latencies, 0.99),
        },
      };
    },
    async close() {
      stop.abort();
      await Promise.all(reading);
    },
  };
}
