// Starting the stack's processes, restarting one that dies, and stopping them
// all with one SIGTERM each, as an orchestrator would.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProcessSpec } from './processes.ts';

const RESTART_DELAY_MS = 500;

// Longer than a service's own shutdown deadline (SHUTDOWN_TIMEOUT_MS, 15 s), so only a process
// that ignored it is killed.
const STOP_DEADLINE_MS = 30_000;

/** The exit code, or 1 for a process ended by a signal — except, when asked, by our own SIGTERM. */
export function exitCode(child: ChildProcess, sigtermIsClean = false): Promise<number> {
  const settle = (code: number | null, signal: NodeJS.Signals | null) =>
    code ?? (sigtermIsClean && signal === 'SIGTERM' ? 0 : 1);
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done(settle(child.exitCode, child.signalCode));
    child.on('exit', (code, signal) => done(settle(code, signal)));
  });
}

/** Signals a child's whole process group (npm's and nginx's own children too); it may be gone already. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals) {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already exited
  }
}

/**
 * The running processes by name. Their pids are kept in `stackDir`/pids.json
 * for whoever wants to signal one (the fault suite does, the benchmark reads
 * them to sample CPU).
 */
export class Supervisor {
  private readonly running = new Map<string, ChildProcess>();
  private stopping = false;
  private readonly cwd: string;
  private readonly stackDir: string;
  private readonly say: (line: string) => void;

  constructor(options: { cwd: string; stackDir: string; say: (line: string) => void }) {
    this.cwd = options.cwd;
    this.stackDir = options.stackDir;
    this.say = options.say;
  }

  /** How many processes are running. */
  get size(): number {
    return this.running.size;
  }

  /**
   * Starts a process; a long-running one that dies is started again after a
   * moment, as an orchestrator's restart policy would (compose: unless-stopped).
   * Each child is the leader of its own process group (detached): a terminal's
   * Ctrl-C signals the foreground group, so it reaches this runner alone, which
   * then stops each child with one SIGTERM. A child that got the terminal's
   * SIGINT too would take that SIGTERM as a second signal and force its exit.
   * Throws once stopAll has begun.
   */
  start(spec: ProcessSpec, oneShot = false): ChildProcess {
    // A process started once the stop has begun would outlive it.
    if (this.stopping) throw new Error(`${spec.name} not started: the stack is stopping`);
    const child = spawn(spec.command[0]!, spec.command.slice(1), {
      cwd: this.cwd,
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'inherit', 'inherit'],
      detached: true,
    });
    this.running.set(spec.name, child);
    if (!oneShot) this.writePids();
    child.on('exit', (code, signal) => {
      if (this.running.get(spec.name) === child) this.running.delete(spec.name);
      if (this.stopping || oneShot) return;
      this.say(`${spec.name} exited unexpectedly (code ${code}, signal ${signal}); restarting it`);
      setTimeout(() => {
        if (!this.stopping) this.start(spec);
      }, RESTART_DELAY_MS);
    });
    return child;
  }

  /**
   * Sends each running process one SIGTERM and waits for all, killing any still
   * running STOP_DEADLINE_MS later; answers 0 when every one stopped cleanly, else 1.
   */
  async stopAll(): Promise<number> {
    this.stopping = true;
    const children = [...this.running.entries()];
    for (const [, child] of children) signalGroup(child, 'SIGTERM');
    const codes = await Promise.all(
      children.map(async ([name, child]) => {
        const deadline = setTimeout(() => {
          this.say(`${name} still running ${STOP_DEADLINE_MS} ms after SIGTERM: killed`);
          signalGroup(child, 'SIGKILL');
        }, STOP_DEADLINE_MS);
        // A process still loading its modules has no handler yet and dies of the SIGTERM itself;
        // it had no work in hand, so that is a clean stop too (seen when a restart met Ctrl-C).
        const code = await exitCode(child, true);
        clearTimeout(deadline);
        if (code !== 0) this.say(`${name} stopped with code ${code}`);
        return code;
      }),
    );
    return codes.every((code) => code === 0) ? 0 : 1;
  }

  /** SIGKILL to every process still running, at once: for the runner's own exit, whatever its cause. */
  killAll(): void {
    for (const child of this.running.values()) signalGroup(child, 'SIGKILL');
  }

  private writePids() {
    mkdirSync(this.stackDir, { recursive: true });
    writeFileSync(
      join(this.stackDir, 'pids.json'),
      JSON.stringify(Object.fromEntries([...this.running].map(([name, child]) => [name, child.pid]))),
    );
  }
}
