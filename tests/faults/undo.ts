// Faults that last a while (the broker's app stopped, a memory alarm, a
// database read-only) are this machine's state, not the test's: CI runs the
// other tests here afterwards, and they need a healthy broker and databases.
// Each is undone in its own finally; should this process end before that (an
// uncaught error, a signal), the undo runs at exit, synchronously. A SIGKILL
// leaves no chance: the suite heals what it can at its start (healBroker).
import { execFileSync, spawn } from 'node:child_process';
import pg from 'pg';
import { POSTGRES_URL } from '@gozon/testkit';

export interface Command {
  command: string;
  args: string[];
}

const COMMAND_TIMEOUT_MS = 60_000;

/**
 * Runs a command without blocking this process: the load, and the fault proxy
 * that orders-api's database traffic passes through, keep going meanwhile.
 * Bounded; rejects with its output if it fails.
 */
export function runCommand({ command, args }: Command): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: COMMAND_TIMEOUT_MS });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', fail);
    child.on('exit', (code, signal) =>
      code === 0
        ? done(output)
        : fail(new Error(`${command} ${args.join(' ')} ended with ${signal ?? `code ${code}`}: ${output.trim()}`)),
    );
  });
}

export const rabbitmqctl = (...args: string[]): Command => ({ command: 'rabbitmqctl', args });

/** SQL run by psql from the postgres database, one statement after another: usable at exit, when no promise runs. */
export function psql(...statements: string[]): Command {
  return {
    command: 'psql',
    args: [
      '-X',
      '-q',
      '-v',
      'ON_ERROR_STOP=1',
      '-d',
      `${POSTGRES_URL}/postgres`,
      ...statements.flatMap((s) => ['-c', s]),
    ],
  };
}

export function terminateBackends(databases: string[]): string {
  return `select pg_terminate_backend(pid) from pg_stat_activity where datname in (${databases.map((d) => pg.escapeLiteral(d)).join(', ')}) and pid <> pg_backend_pid()`;
}

const inForce = new Set<Command>();

process.on('exit', () => {
  for (const undo of inForce) {
    try {
      execFileSync(undo.command, undo.args, { stdio: 'ignore', timeout: COMMAND_TIMEOUT_MS });
    } catch {
      // nothing more can be tried at exit
    }
  }
});
// A signal would end the process without 'exit' unless it is handled.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => process.exit(1));

/** Does `attack`, and `undo` however it ends (also at exit, should this process end first). */
export async function undoneAfter(undo: Command, attack: () => Promise<void>): Promise<void> {
  inForce.add(undo);
  try {
    await attack();
  } finally {
    await runCommand(undo);
    inForce.delete(undo);
  }
}

// Set at runtime by set_vm_memory_high_watermark; restarting the app goes back to the configured value.
async function configuredWatermark(): Promise<string[]> {
  const term = (await runCommand(rabbitmqctl('eval', 'application:get_env(rabbit, vm_memory_high_watermark).'))).trim();
  const relative = /^\{ok,(?:\{relative,)?([\d.]+)\}?\}$/.exec(term);
  if (relative) return [relative[1]!];
  const absolute = /^\{ok,\{absolute,(\w+)\}\}$/.exec(term);
  if (absolute) return ['absolute', absolute[1]!];
  throw new Error(`cannot read RabbitMQ's configured memory high watermark from ${term}`);
}

/** Restores the broker's memory watermark, should a run killed outright have left its alarm; resolves with the command that restores it. */
export async function healBroker(): Promise<Command> {
  const restore = rabbitmqctl('set_vm_memory_high_watermark', ...(await configuredWatermark()));
  await runCommand(restore);
  return restore;
}
