// `npm test`: every test level, each file in its own process (so a leaked
// handle fails that file instead of hanging the run), then one total line.
//   node scripts/run-tests.ts [level ...]      levels: typecheck lint format unit integration system contract browser faults compose
import { spawn } from 'node:child_process';
import { existsSync, globSync } from 'node:fs';
import { connect } from 'node:net';
import { relative, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const FILE_TIMEOUT_MS = Number(process.env.TEST_FILE_TIMEOUT_MS ?? 600_000);
const KILL_GRACE_MS = 30_000;

interface Level {
  name: string;
  patterns: string[];
  needs: Array<{ what: string; port?: number; file?: string; howToStart: string }>;
}

const POSTGRES = {
  what: 'PostgreSQL on 127.0.0.1:5432',
  port: 5432,
  howToStart: 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
};
const RABBITMQ = { what: 'RabbitMQ on 127.0.0.1:5672', port: 5672, howToStart: 'rabbitmq-server -detached' };
const CHROMIUM = {
  what: "Debian's Chromium at /usr/bin/chromium",
  file: '/usr/bin/chromium',
  howToStart: 'apt-get update && apt-get install -y chromium',
};

const PROMETHEUS = {
  what: "Debian's Prometheus at /usr/bin/prometheus (and promtool)",
  file: '/usr/bin/prometheus',
  howToStart: 'apt-get update && apt-get install -y prometheus',
};

const LEVELS: Level[] = [
  { name: 'typecheck', patterns: [], needs: [] },
  { name: 'lint', patterns: [], needs: [] },
  { name: 'format', patterns: [], needs: [] },
  {
    name: 'unit',
    patterns: ['packages/*/test/unit/**/*.test.ts', '*/test/unit/**/*.test.ts', 'tests/unit/**/*.test.ts'],
    needs: [],
  },
  {
    name: 'integration',
    patterns: [
      'packages/*/test/integration/**/*.test.ts',
      '*/test/integration/**/*.test.ts',
      'tests/integration/**/*.test.ts',
    ],
    needs: [POSTGRES, RABBITMQ],
  },
  { name: 'system', patterns: ['tests/system/**/*.test.ts'], needs: [POSTGRES, RABBITMQ, PROMETHEUS] },
  { name: 'contract', patterns: ['tests/contract/**/*.test.ts'], needs: [POSTGRES, RABBITMQ] },
  { name: 'browser', patterns: ['tests/browser/**/*.test.ts'], needs: [POSTGRES, RABBITMQ, CHROMIUM] },
  { name: 'faults', patterns: ['tests/faults/**/*.test.ts'], needs: [POSTGRES, RABBITMQ] },
  // Its own engine, databases and broker, in containers: it installs and starts the engine if there is none.
  { name: 'compose', patterns: ['tests/compose/**/*.test.ts'], needs: [] },
];

interface Outcome {
  passed: number;
  failed: number;
  skipped: number;
}

function reachable(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port, timeout: 2000 });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
    socket.once('timeout', () => {
      socket.destroy();
      done(false);
    });
  });
}

// uvu ends each run with "Total: N / Passed: N / Skipped: N"; a file that
// crashed or hung before it printed them has failed, whatever it counted.
function readSummary(output: string): Outcome | undefined {
  const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
  const total = /Total:\s+(\d+)/.exec(plain);
  const passed = /Passed:\s+(\d+)/.exec(plain);
  const skipped = /Skipped:\s+(\d+)/.exec(plain);
  if (!total || !passed) return undefined;
  const t = Number(total[1]);
  const p = Number(passed[1]);
  const s = Number(skipped?.[1] ?? 0);
  return { passed: p, failed: t - p - s, skipped: s };
}

function runFile(file: string): Promise<Outcome> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [file], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      process.stdout.write(chunk);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    // SIGTERM first, so that a file's exit hooks undo what it did to this machine
    // (a broker alarm, a read-only database, a stack it started); SIGKILL if it does not go.
    let killer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      process.stdout.write(`\n!! ${relative(ROOT, file)} still running after ${FILE_TIMEOUT_MS} ms: stopped\n`);
      child.kill('SIGTERM');
      killer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    }, FILE_TIMEOUT_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(killer);
      const summary = readSummary(output);
      if (!summary) {
        process.stdout.write(
          `!! ${relative(ROOT, file)} ended (code ${code}, signal ${signal}) without a test summary: counted as 1 failure\n`,
        );
        return done({ passed: 0, failed: 1, skipped: 0 });
      }
      if (code !== 0 && summary.failed === 0) {
        process.stdout.write(
          `!! ${relative(ROOT, file)} exited with code ${code} after its tests: counted as 1 failure\n`,
        );
        return done({ ...summary, failed: 1 });
      }
      done(summary);
    });
  });
}

const TYPECHECKED_PROJECTS = ['tsconfig.json', 'ui/tsconfig.json', 'ui/tsconfig.node.json'];

/** Runs a node script of node_modules with the output shown as it comes; answers its exit code. */
function runTool(script: string, args: string[]): Promise<number | null> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [resolve(ROOT, script), ...args], { cwd: ROOT, stdio: 'inherit' });
    child.on('exit', done);
  });
}

/** The strict type check of every project counts as one test: code that does not type-check does not pass. */
async function typecheck(): Promise<boolean> {
  let passed = true;
  for (const project of TYPECHECKED_PROJECTS) {
    process.stdout.write(`\n=== typecheck: tsc -p ${project}\n`);
    if ((await runTool('node_modules/typescript/bin/tsc', ['-p', project])) !== 0) passed = false;
  }
  process.stdout.write(passed ? 'typecheck passed\n' : '!! typecheck failed: counted as 1 failure\n');
  return passed;
}

/** The type-aware lint of the whole tree (eslint.config.js) counts as one test: any finding, warnings too, fails it. */
async function lint(): Promise<boolean> {
  process.stdout.write('\n=== lint: eslint --max-warnings 0 .\n');
  const passed = (await runTool('node_modules/eslint/bin/eslint.js', ['--max-warnings', '0', '.'])) === 0;
  process.stdout.write(passed ? 'lint passed\n' : '!! lint failed: counted as 1 failure\n');
  return passed;
}

/** The formatter's check of the whole tree (.prettierrc.json, .prettierignore) counts as one test: `npm run format` fixes what it finds. */
async function format(): Promise<boolean> {
  process.stdout.write('\n=== format: prettier --check .\n');
  const passed =
    (await runTool('node_modules/prettier/bin/prettier.cjs', ['--check', '--log-level', 'warn', '.'])) === 0;
  process.stdout.write(
    passed ? 'format passed\n' : '!! format failed (npm run format fixes it): counted as 1 failure\n',
  );
  return passed;
}

/** Levels that are one check of the whole tree rather than test files, each counted as one test. */
const WHOLE_TREE_CHECKS: Record<string, () => Promise<boolean>> = { typecheck, lint, format };

async function main() {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((name) => !LEVELS.some((level) => level.name === name));
  if (unknown.length > 0)
    throw new Error(`unknown test level(s) ${unknown.join(', ')}; known: ${LEVELS.map((l) => l.name).join(', ')}`);
  const levels = wanted.length === 0 ? LEVELS : LEVELS.filter((level) => wanted.includes(level.name));
  const total: Outcome = { passed: 0, failed: 0, skipped: 0 };
  const started = Date.now();

  for (const level of levels) {
    const check = WHOLE_TREE_CHECKS[level.name];
    if (check) {
      const passed = await check();
      total.passed += passed ? 1 : 0;
      total.failed += passed ? 0 : 1;
      continue;
    }
    const files = [...new Set(level.patterns.flatMap((pattern) => globSync(pattern, { cwd: ROOT })))]
      .filter((file) => !file.includes('node_modules'))
      .sort();
    process.stdout.write(`\n=== ${level.name}: ${files.length} file(s)\n`);
    if (files.length === 0) {
      process.stdout.write(`!! no ${level.name} tests found: counted as 1 failure\n`);
      total.failed += 1;
      continue;
    }
    const missing = [];
    for (const need of level.needs) {
      const present = need.port !== undefined ? await reachable(need.port) : existsSync(need.file!);
      if (!present) missing.push(need);
    }
    if (missing.length > 0) {
      for (const need of missing)
        process.stdout.write(
          `!! ${level.name} needs ${need.what}, which does not answer. Start it: ${need.howToStart}\n`,
        );
      total.failed += files.length;
      continue;
    }
    for (const file of files) {
      process.stdout.write(`\n--- ${file}\n`);
      const outcome = await runFile(resolve(ROOT, file));
      total.passed += outcome.passed;
      total.failed += outcome.failed;
      total.skipped += outcome.skipped;
    }
  }

  process.stdout.write(`\n(${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  process.stdout.write(
    `${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ''}\n`,
  );
  process.exitCode = total.failed === 0 ? 0 : 1;
}

await main();
