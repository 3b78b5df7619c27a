// Prometheus metrics, through prom-client (https://github.com/siimon/prom-client):
// one registry per process, every series labelled with the service that
// exposes it, names and units by Prometheus's conventions
// (https://prometheus.io/docs/practices/naming/): `gozon_` for ours, seconds
// for time, `_total` for counters. What each metric means is in
// docs/ARCHITECTURE.md, "Metrics".
import client from 'prom-client';
import type pg from 'pg';

export { client as prometheus };

/** The registry every metric of this process is in, and /metrics answers with. */
export const metricsRegistry = client.register;

let started = false;

/**
 * How often the event-loop lag is sampled, in ms (prom-client's
 * eventLoopMonitoringPrecision, the resolution of Node's monitorEventLoopDelay):
 * each sample is a timer that wakes the process. prom-client's 10 ms woke every
 * idle process 100 times a second, most of its wake-ups at rest (`npm run
 * bench`'s wake-ups per process, issue 17); ten samples a second still catch
 * every stall a scrape interval could show.
 */
export const EVENT_LOOP_SAMPLE_MS = 100;

/**
 * Labels every series with `service` and starts prom-client's process metrics
 * (CPU, resident memory, heap, event-loop lag, GC, handles). Once per process;
 * a second call is ignored.
 */
export function startMetrics(service: string): void {
  if (started) return;
  started = true;
  metricsRegistry.setDefaultLabels({ service });
  client.collectDefaultMetrics({ register: metricsRegistry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
}

/**
 * A gauge of a pool's connections, by state (total, idle, and checkouts waiting
 * for one), read at each scrape: how close the process is to its DB_POOL_SIZE.
 */
export function watchPool(pool: pg.Pool): void {
  new client.Gauge({
    name: 'gozon_db_pool_connections',
    help: 'PostgreSQL connections of the pool by state (total, idle), and checkouts waiting for one (waiting)',
    labelNames: ['state'],
    collect() {
      this.set({ state: 'total' }, pool.totalCount);
      this.set({ state: 'idle' }, pool.idleCount);
      this.set({ state: 'waiting' }, pool.waitingCount);
    },
  });
}
