import { Hono } from 'hono';

export type HealthCheck = () => Promise<unknown>;

// Liveness says the process runs; readiness says it can do its work now, so an
// orchestrator or the stack runner can wait for it and a load balancer skip it.
export function healthRoutes(checks: Record<string, HealthCheck>) {
  const health = new Hono();
  health.get('/live', (c) => c.json({ status: 'ok' }));
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
