import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dirname, '../../..');

export interface ServiceProcess {
  name: string;
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or the signal's name) when the process has ended. */
  exited: Promise<number | string>;
  stop(): Promise<number | string>;
}

/**
 * Starts a deployable's real main, as the stack and the containers do, and
 * resolves once it logs the event that says it is ready (at once, for a
 * process that is expected to die before it gets there: readyEvent null).
 */
export async function startService(
  name: string,
  main: string,
  env: Record<string, string>,
  readyEvent: string | null,
  timeoutMs = 20_000,
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [main], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', HEALTH_PORT: '0', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((done) => child.on('exit', (code, signal) => done(code ?? signal ?? 'unknown')));

  const started = {
    name,
    child,
    output: () => output,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
  if (readyEvent === null) return started;

  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`${name} not ready after ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const check = () => {
      if (output.includes(`"event":"${readyEvent}"`)) {
        clearTimeout(timer);
        child.stdout.off('data', check);
        ready();
      }
    };
    child.stdout.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`${name} exited (${code}) before it was ready:\n${output}`));
    });
  }).catch((error) => {
    if (child.exitCode === null) child.kill('SIGKILL');
    throw error;
  });

  return started;
}
