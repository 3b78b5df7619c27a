// Whether the stack can start here, and when each of its processes is ready.
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Resolves once `readyUrl` answers 2xx, polling every 100 ms. Throws when the
 * child exits first or `timeoutMs` passes.
 */
export async function waitUntilReady(
  name: string,
  readyUrl: string,
  child: ChildProcess,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode} before it was ready`);
    try {
      const response = await fetch(readyUrl);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${name} was not ready at ${readyUrl} within ${timeoutMs} ms`);
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const probe = createServer();
    probe.once('error', () => done(false));
    probe.listen(port, '0.0.0.0', () => probe.close(() => done(true)));
  });
}

/**
 * Another stack still running would answer our readiness checks, and two of our
 * own processes given one port (overlapping port settings) would leave one
 * restarting for ever: throws, naming the ports, instead.
 */
export async function requireFreePorts(ports: number[]): Promise<void> {
  const shared = ports.filter((port, i) => ports.indexOf(port) !== i);
  if (shared.length > 0) throw new Error(`port(s) ${[...new Set(shared)].join(', ')} given to two processes`);
  const taken = [];
  for (const port of ports) if (!(await portIsFree(port))) taken.push(port);
  if (taken.length > 0) throw new Error(`port(s) ${taken.join(', ')} already in use (is another stack running?)`);
}
