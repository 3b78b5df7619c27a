import { ConfigError, type Setting } from './config.ts';

// Fault points: named places where a process kills itself (SIGKILL, as an
// out-of-memory kill would) when the fault suite arms them, to prove that a
// death at the worst moment loses nothing. Disarmed unless a process arms them
// at start from its GOZON_FAULTS setting; then reaching one is a map lookup.

export const FAULT_POINTS = [
  /** A relay had its batch confirmed by the broker but has not yet marked it sent. */
  'relay.after-publish',
  /** An inbox consumer committed its batch but has not yet acked it. */
  'consumer.after-commit',
] as const;

export type FaultPoint = (typeof FAULT_POINTS)[number];

/** Each armed point with the probability (0 to 1) that reaching it kills the process. */
export type FaultPlan = ReadonlyMap<FaultPoint, number>;

let armed: FaultPlan = new Map();

function isFaultPoint(name: string): name is FaultPoint {
  return (FAULT_POINTS as readonly string[]).includes(name);
}

/**
 * Reads "point:probability,…" (the probability defaults to 1), e.g.
 * "relay.after-publish:0.01,consumer.after-commit"; the empty string arms
 * nothing. Throws a ConfigError naming the first entry that is not a known
 * point with a probability from 0 to 1.
 */
export function parseFaultPlan(spec: string): FaultPlan {
  const plan = new Map<FaultPoint, number>();
  if (spec === '') return plan;
  for (const entry of spec.split(',')) {
    const [name = '', probability = '1'] = entry.split(':').map((part) => part.trim());
    const p = Number(probability);
    if (!isFaultPoint(name) || probability === '' || !(p >= 0 && p <= 1)) {
      throw new ConfigError(
        `has a bad entry ${JSON.stringify(entry)}: want point:probability, a point one of ${FAULT_POINTS.join(', ')}, a probability from 0 to 1`,
      );
    }
    plan.set(name, p);
  }
  return plan;
}

/** The settings of a process that has fault points; readConfig validates the plan with the rest. */
export const faultPointSettings = {
  GOZON_FAULTS: {
    default: '',
    describe: 'fault points armed for the fault suite, "point:probability,…"; empty in production: none',
    parse: parseFaultPlan,
  } satisfies Setting<FaultPlan>,
};

/** Arms the points of this plan, and disarms the others, for the rest of the process's life; called once at start. */
export function armFaultPoints(plan: FaultPlan): void {
  armed = plan;
}

/** Kills the process here, with the point's probability, when the point is armed; does nothing otherwise. */
export function reachFaultPoint(point: FaultPoint): void {
  const p = armed.get(point);
  if (p === undefined || Math.random() >= p) return;
  process.stdout.write(
    `${JSON.stringify({ time: new Date().toISOString(), level: 'warn', event: 'fault.kill', point })}\n`,
  );
  process.kill(process.pid, 'SIGKILL');
}
