// The compose level's hands on this machine: commands with a bound, the
// Docker engine (installed from Debian's packages and started when there is
// none), and the compose project under test. tests/compose/README.md says why
// each step is as it is.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The commands running now, each the leader of its own process group. */
const running = new Set<ChildProcess>();

/** Kills every command still running, with its children: for a test stopped from outside. */
export function killRunning(): void {
  for (const child of running) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

/** What a command printed, and how it ended. */
export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `command` with `args`, at most `timeoutMs` (then SIGKILL), and resolves
 * with what it printed. Rejects when it does not end with code 0, unless
 * `allowFailure`; the error carries the command and the tail of its output.
 * `progress` is told each line as it comes, for steps that take a while.
 */
export function run(
  command: string,
  args: string[],
  options: {
    timeoutMs: number;
    env?: Record<string, string>;
    cwd?: string;
    allowFailure?: boolean;
    progress?: (line: string) => void;
  },
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    // A group of its own, so that a time-out kills its children too (a shell's pipeline), whose open
    // pipes would otherwise keep this waiting.
    const child = spawn(command, args, {
      env: { ...process.env, ...options.env },
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    running.add(child);
    let stdout = '';
    let stderr = '';
    let partial = '';
    const tell = (chunk: string) => {
      if (!options.progress) return;
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      for (const line of lines) if (line.trim()) options.progress(line);
    };
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      tell(chunk);
    });
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
      tell(chunk);
    });
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone already
      }
    }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      running.delete(child);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      const result = { code, stdout, stderr };
      if (code === 0 || options.allowFailure) return resolve(result);
      const why = signal === 'SIGKILL' ? `killed after ${options.timeoutMs} ms` : `code ${code}`;
      const tail = (stdout + stderr).trim().split('\n').slice(-20).join('\n');
      reject(new Error(`${command} ${args.join(' ')}: ${why}\n${tail}`));
    });
  });
}

/** Prints one line of the level's progress. */
export function report(line: string): void {
  process.stdout.write(`[compose] ${line}\n`);
}

const APT_TIMEOUT_MS = 300_000;
const ENGINE_START_MS = 60_000;
const DOCKERD_LOG = '/var/log/gozon-dockerd.log';
/**
 * Debian 12 has no Compose v2; Debian 13 ("trixie") ships it and buildx as
 * static binaries that need only libc, so they are fetched from trixie through
 * an apt configuration of their own, leaving the machine's sources alone.
 */
const TRIXIE_DIR = '/var/cache/gozon-trixie';
const TRIXIE_PACKAGES = ['docker-compose', 'docker-buildx'];

async function engineAnswers(): Promise<boolean> {
  const info = await run('docker', ['info', '--format', '{{.ServerVersion}}'], {
    timeoutMs: 15_000,
    allowFailure: true,
  }).catch(() => undefined);
  return info?.code === 0;
}

/** Whether `command` is on the PATH (root's includes /usr/sbin). */
async function onPath(command: string): Promise<boolean> {
  return (await run('sh', ['-c', `command -v ${command}`], { timeoutMs: 15_000, allowFailure: true })).code === 0;
}

async function composeAnswers(): Promise<boolean> {
  const version = await run('docker', ['compose', 'version'], { timeoutMs: 15_000, allowFailure: true }).catch(
    () => undefined,
  );
  return version?.code === 0;
}

async function installFromTrixie(): Promise<void> {
  mkdirSync(join(TRIXIE_DIR, 'lists/partial'), { recursive: true });
  mkdirSync(join(TRIXIE_DIR, 'cache/archives/partial'), { recursive: true });
  writeFileSync(
    join(TRIXIE_DIR, 'sources.list'),
    'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main\n',
  );
  const apt = [
    `-o`,
    `Dir::Etc::SourceList=${TRIXIE_DIR}/sources.list`,
    `-o`,
    `Dir::Etc::SourceParts=/dev/null`,
    `-o`,
    `Dir::State::Lists=${TRIXIE_DIR}/lists`,
    `-o`,
    `Dir::Cache=${TRIXIE_DIR}/cache`,
  ];
  await run('apt-get', [...apt, '-qq', 'update'], { timeoutMs: APT_TIMEOUT_MS });
  await run(
    'apt-get',
    [...apt, '-qq', '--download-only', '--no-install-recommends', '-y', 'install', ...TRIXIE_PACKAGES],
    {
      timeoutMs: APT_TIMEOUT_MS,
    },
  );
  const debs = TRIXIE_PACKAGES.map((name) => `${TRIXIE_DIR}/cache/archives/${name}_*.deb`).join(' ');
  await run('sh', ['-c', `dpkg -i ${debs}`], { timeoutMs: APT_TIMEOUT_MS });
}

/**
 * Makes sure a Docker engine answers, with Compose v2 and buildx, and that
 * debootstrap is here for the stand-ins: an engine that answers is kept; on a
 * machine with no dockerd, installs Debian's docker.io (and compose and buildx
 * from trixie where `docker compose` is missing) and starts dockerd in the
 * background, its log in /var/log/gozon-dockerd.log. Needs root to install;
 * rejects if the engine does not answer within a minute of its start.
 */
export async function ensureEngine(): Promise<void> {
  // An engine of any origin that answers is used as it is: installing docker.io beside Docker's own
  // packages would remove them (they conflict).
  const answering = await engineAnswers();
  const packages = [
    ...(answering || (await onPath('dockerd')) ? [] : ['docker.io']),
    ...((await onPath('debootstrap')) ? [] : ['debootstrap']),
  ];
  if (packages.length > 0) {
    report(`installing ${packages.join(' and ')} from Debian`);
    await run('apt-get', ['-qq', 'update'], { timeoutMs: APT_TIMEOUT_MS });
    await run('apt-get', ['-qq', '-y', 'install', ...packages], {
      timeoutMs: APT_TIMEOUT_MS,
      env: { DEBIAN_FRONTEND: 'noninteractive' },
    });
  }
  if (!(await composeAnswers())) {
    report("installing Compose v2 and buildx from Debian 13's packages");
    await installFromTrixie();
  }
  if (answering) return;
  report(`starting dockerd (log: ${DOCKERD_LOG})`);
  const log = openSync(DOCKERD_LOG, 'a');
  spawn('dockerd', [], { detached: true, stdio: ['ignore', log, log] }).unref();
  const deadline = Date.now() + ENGINE_START_MS;
  while (!(await engineAnswers())) {
    if (Date.now() > deadline)
      throw new Error(`dockerd did not answer within ${ENGINE_START_MS} ms: see ${DOCKERD_LOG}`);
    await sleep(500);
  }
}
