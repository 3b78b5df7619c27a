// Fault points, armed only by the GOZON_FAULTS test flag: "point:probability,…",
// e.g. "relay.after-publish:1" kills the process the first time a relay has
// published a batch but not yet marked it sent. Without the flag, a no-op.

export type FaultPoint = 'relay.after-publish' | 'consumer.after-commit';

export type Faults = (point: FaultPoint) => void;

export function parseFaults(spec: string | undefined, random: () => number = Math.random): Faults {
  if (!spec) return () => {};
  const armed = new Map<string, number>();
  for (const entry of spec.split(',')) {
    const [point, probability] = entry.split(':');
    const p = Number(probability ?? '1');
    if (!point || !(p >= 0 && p <= 1)) throw new Error(`GOZON_FAULTS: bad entry ${JSON.stringify(entry)}`);
    armed.set(point.trim(), p);
  }
  return (point) => {
    const p = armed.get(point);
    if (p !== undefined && random() < p) {
      process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'warn', event: 'fault.kill', point })}\n`);
      process.kill(process.pid, 'SIGKILL');
    }
  };
}
