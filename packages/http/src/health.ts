import { Hono } from 'hono';

export type HealthCheck = () => Promise<unknown>;

// Liveness says the process runs and is worth keeping; readiness says it can do
// its work now, so an orchestrator or the stack runner can wait for it and a
// load balancer skip it. `live` answers false once the process has been unready
// past its bound: then a restart is the way out.
export function healthRoutes(checks: Record<string, HealthCheck>, live: () => boolean = () => true) {
  const health = new Hono();
  health.get('/live', (c) =>
    live() ? c.json({ status: 'ok' }) : c.json({ status: 'unavailable', reason: 'not ready for too long' }, 503),
  );
  health.get('/ready', async (c) => {
    const results = await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        try {
          await check();
          return [name, 'ok'] as const;
        } catch (error) {
          return [name, (error as Error).message || 'failed'] as const;
        }
      }),
    );
    const ready = results.every(([, result]) => result === 'ok');
    return c.json({ status: ready ? 'ok' : 'unavailable', checks: Object.fromEntries(results) }, ready ? 200 : 503);
  });
  return health;
}

/**
 * Samples `problem` (null when ready, else why not) every second; once it has
 * said not-ready for longer than `limitMs` without a break, calls `onTooLong`
 * with how long (ms) and the last reason. `unreadyMs()` is how long it has been
 * not ready now (0 when ready).
 */
export function watchReadiness(
  problem: () => string | null,
  limitMs: number,
  onTooLong: (unreadyMs: number, why: string) => void,
) {
  let unreadySince: number | undefined;
  const timer = setInterval(() => {
    const why = problem();
    if (why === null) {
      unreadySince = undefined;
      return;
    }
    unreadySince ??= Date.now();
    if (Date.now() - unreadySince > limitMs) onTooLong(Date.now() - unreadySince, why);
  }, 1000);
  timer.unref();
  return {
    unreadyMs: () => (unreadySince === undefined ? 0 : Date.now() - unreadySince),
    stop: () => clearInterval(timer),
  };
}
