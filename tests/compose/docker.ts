// The compose level's hands on this machine: commands with a bound, the
// Docker engine (installed from Debian's packages and started when there is
// none), and the compose project under test. tests/compose/README.md says why
// each step is as it is.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

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
    const child = spawn(command, args, {
      env: { ...process.env, ...options.env },
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
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
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
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

const APT_TIMEOUT_MS = 600_000;
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
 * Makes sure a Docker engine answers, with Compose v2 and buildx: on a machine
 * with none, installs Debian's docker.io and debootstrap (and compose and
 * buildx from trixie) and starts dockerd in the background, its log in
 * /var/log/gozon-dockerd.log. Needs root to install; rejects if the engine does
 * not answer within a minute of its start.
 */
export async function ensureEngine(): Promise<void> {
  const debian = ['/usr/sbin/dockerd', '/usr/sbin/debootstrap'];
  if (!debian.every((path) => existsSync(path))) {
    report("installing Debian's docker.io and debootstrap");
    await run('apt-get', ['-qq', 'update'], { timeoutMs: APT_TIMEOUT_MS });
    await run('apt-get', ['-qq', '-y', 'install', 'docker.io', 'debootstrap'], {
      timeoutMs: APT_TIMEOUT_MS,
      env: { DEBIAN_FRONTEND: 'noninteractive' },
    });
  }
  if (!(await composeAnswers())) {
    report("installing Compose v2 and buildx from Debian 13's packages");
    await installFromTrixie();
  }
  if (await engineAnswers()) return;
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
