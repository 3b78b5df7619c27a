import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const REPO_ROOT = resolve(import.meta.dirname, '../../..');

/** The variable each deployable reads its health port from: an API serves /health on its own port. */
export const HEALTH_PORT_VARIABLES = {
  'orders-api': 'PORT',
  'payments-api': 'PORT',
  'orders-relay': 'HEALTH_PORT',
  'payments-worker': 'HEALTH_PORT',
} as const;

/** How long a launch may take to get where it waits for, unless told otherwise. */
const READY_TIMEOUT_MS = 20_000;
// Past a service's own shutdown deadline (SHUTDOWN_TIMEOUT_MS, 15 s): only a process that ignored it is killed.
const STOP_GRACE_MS = 20_000;
// How many of the last log lines an error about a launch shows.
const LAST_LINES = 30;

/**
 * What a launch waits for: 'ready', until /health/ready answers 200; 'live',
 * until /health/live answers 200 (a process that is up but not meant to become
 * ready); 'started', nothing (a one-shot command, or one expected to die first).
 */
export type LaunchUntil = 'ready' | 'live' | 'started';

export interface LaunchOptions {
  /** Names the process in errors. */
  name: string;
  /** The program and its arguments, e.g. [process.execPath, 'orders-api/src/main.ts']. */
  command: string[];
  /** Set over this process's environment (or over nothing, with inheritEnv false), and over LOG_LEVEL=info. */
  env?: Record<string, string>;
  /** False to give the process only `env`, as a container gets only its image's. Default true. */
  inheritEnv?: boolean;
  /** Default REPO_ROOT. */
  cwd?: string;
  /**
   * The variable the process reads its health port from: HEALTH_PORT for a
   * relay or worker, PORT for an API (its health routes are on its own port).
   * The launcher sets it to a free port of 127.0.0.1. Absent: no health port.
   */
  healthPortVariable?: string;
  /** Asked instead of /health/ready, for a process whose readiness is another's (the stack runner: its gateway's /health). */
  readyUrl?: string;
  /** Default 'ready' for a process with a health port or a readyUrl, else 'started'. */
  until?: LaunchUntil;
  /** Most the launch waits for `until`, in ms. Default 20 s. */
  timeoutMs?: number;
  /** Most stop() waits after SIGTERM before it sends SIGKILL, in ms. Default 20 s. */
  stopGraceMs?: number;
  /** Runs the process as the leader of its own process group, as a terminal runs a foreground job; signal() then signals the whole group. */
  ownProcessGroup?: boolean;
}

/** A log line of the JSON the services write, one object per line. */
export type LogLine = Record<string, unknown> & { event?: string };

export interface LaunchedProcess {
  name: string;
  pid: number;
  /** Everything it wrote, stdout and stderr, in the order it came. */
  output: () => string;
  /** Its JSON log lines (lines of stdout or stderr that are JSON objects) with this event, in order. */
  events: (event: string) => LogLine[];
  /** The exit code, or the name of the signal that ended it, once it has ended. */
  exited: Promise<number | string>;
  /** True until it has exited. */
  running: () => boolean;
  /** Asks its health route ('ready' or 'live'); rejects when it has no health port or nothing listens there. */
  health: (which: 'ready' | 'live') => Promise<{ status: number; body: string }>;
  /** Sends a signal, to its whole process group when it leads one. */
  signal: (signal: NodeJS.Signals) => void;
  /** SIGTERM, then SIGKILL if it has not exited after stopGraceMs; resolves with how it exited. */
  stop: () => Promise<number | string>;
  /** SIGKILL now, as kill -9 does; resolves with how it exited. */
  kill: () => Promise<number | string>;
}

/** A port nothing listens on now, from the kernel's ephemeral range. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((done, fail) => probe.once('error', fail).listen(0, '127.0.0.1', done));
  const { port } = probe.address() as { port: number };
  await new Promise((done) => probe.close(done));
  return port;
}

/**
 * Starts a process and resolves once it is where `until` says (by default, once
 * its /health/ready answers 200). Its output is kept for output() and events(). If it exits first, or is not there within timeoutMs, the launch
 * rejects with an error that shows its last log lines, and a process still
 * running is stopped (stop(): a stack runner stops its own processes first).
 */
export async function launch(options: LaunchOptions): Promise<LaunchedProcess> {
  const {
    name,
    healthPortVariable,
    ownProcessGroup = false,
    stopGraceMs = STOP_GRACE_MS,
    timeoutMs = READY_TIMEOUT_MS,
  } = options;
  const healthPort = healthPortVariable ? await freePort() : undefined;
  const healthBase = healthPort === undefined ? undefined : `http://127.0.0.1:${healthPort}/health`;
  const until = options.until ?? (healthBase || options.readyUrl ? 'ready' : 'started');
  const untilUrl = {
    ready: options.readyUrl ?? (healthBase && `${healthBase}/ready`),
    live: healthBase && `${healthBase}/live`,
    started: undefined,
  }[until];
  if (until !== 'started' && !untilUrl) throw new Error(`${name}: cannot wait until ${until} without a health port`);
  const env = {
    ...(options.inheritEnv === false ? {} : process.env),
    // Whatever level this process was given: tests read the services' info events.
    LOG_LEVEL: 'info',
    ...options.env,
    ...(healthPortVariable ? { [healthPortVariable]: String(healthPort) } : {}),
  };
  const child = spawn(options.command[0]!, options.command.slice(1), {
    cwd: options.cwd ?? REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: ownProcessGroup,
  });

  let output = '';
  const lines: LogLine[] = [];
  const partial = { stdout: '', stderr: '' };
  const collect = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
    const text = chunk.toString();
    output += text;
    const complete = (partial[stream] + text).split('\n');
    partial[stream] = complete.pop()!;
    for (const line of complete) {
      if (!line.startsWith('{')) continue;
      try {
        lines.push(JSON.parse(line) as LogLine);
      } catch {
        // a line that only looks like JSON: it stays in output()
      }
    }
  };
  child.stdout.on('data', collect('stdout'));
  child.stderr.on('data', collect('stderr'));
  const exited = new Promise<number | string>((done) =>
    child.on('exit', (code, signal) => done(code ?? signal ?? 'unknown')),
  );
  let hasExited = false;
  void exited.then(() => (hasExited = true));

  const lastLines = () => output.trimEnd().split('\n').slice(-LAST_LINES).join('\n');
  const signal = (sig: NodeJS.Signals) => {
    if (hasExited) return;
    try {
      process.kill(ownProcessGroup ? -child.pid! : child.pid!, sig);
    } catch {
      // gone meanwhile
    }
  };
  const health = async (which: 'ready' | 'live') => {
    if (!healthBase) throw new Error(`${name} has no health port`);
    const response = await fetch(`${healthBase}/${which}`, { signal: AbortSignal.timeout(5000) });
    return { status: response.status, body: await response.text() };
  };

  const launched: LaunchedProcess = {
    name,
    pid: child.pid!,
    output: () => output,
    events: (event) => lines.filter((line) => line.event === event),
    exited,
    running: () => !hasExited,
    health,
    signal,
    async stop() {
      signal('SIGTERM');
      const killer = setTimeout(() => signal('SIGKILL'), stopGraceMs);
      const how = await exited;
      clearTimeout(killer);
      return how;
    },
    async kill() {
      signal('SIGKILL');
      return exited;
    },
  };

  if (!untilUrl) return launched;
  try {
    await waitForOk(untilUrl, timeoutMs, () => hasExited);
  } catch (error) {
    const why = hasExited
      ? `exited (${await exited}) before it was ${until}`
      : `not ${until} at ${untilUrl} after ${timeoutMs} ms (${(error as Error).message})`;
    await launched.stop();
    throw new Error(`${name} ${why}; its last log lines:\n${lastLines()}`);
  }
  return launched;
}

/** Polls url until it answers 200; rejects with what it last saw once timeoutMs have passed, or at once when gone() says so. */
async function waitForOk(url: string, timeoutMs: number, gone: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'nothing listening';
  while (Date.now() < deadline && !gone()) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())) });
      if (response.status === 200) return;
      last = `${response.status} ${(await response.text()).slice(0, 300)}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await sleep(50);
  }
  throw new Error(`last answer: ${last}`);
}
