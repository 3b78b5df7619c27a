import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, matchesGlob, relative } from 'node:path';

// Enough of a Dockerfile interpreter to carry out a recipe's steps outside
// Docker, in a folder per stage: FROM … AS, ARG, ENV, WORKDIR, COPY (from the
// build context, minus .dockerignore, or --from a stage), RUN (with sh), USER,
// CMD. It proves the recipe's own commands produce a runnable app; the base
// image is the one thing it cannot bring, so it runs with this machine's Node
// of the same major.

export interface BuiltStage {
  name: string;
  base: string;
  root: string;
  workdir: string;
  env: Record<string, string>;
  cmd: string[] | undefined;
  user: string | undefined;
}

function ignored(path: string, patterns: string[]): boolean {
  return patterns.some((pattern) => matchesGlob(path, pattern) || matchesGlob(path, `${pattern}/**`));
}

function copyContext(context: string, target: string, patterns: string[]) {
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(context, dir), { withFileTypes: true })) {
      const path = dir ? `${dir}/${entry.name}` : entry.name;
      if (ignored(path, patterns)) continue;
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) {
        mkdirSync(join(target, dirname(path)), { recursive: true });
        cpSync(join(context, path), join(target, path));
      }
    }
  };
  walk('');
}

/** Joins continuation lines and drops comments. */
function instructions(dockerfile: string): Array<{ op: string; rest: string }> {
  return dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [op, ...rest] = line.split(/\s+/);
      return { op: op!.toUpperCase(), rest: rest.join(' ') };
    });
}

export function buildDockerfile(options: {
  dockerfile: string;
  context: string;
  into: string;
  args: Record<string, string>;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
}): BuiltStage[] {
  const patterns = existsSync(join(options.context, '.dockerignore'))
    ? readFileSync(join(options.context, '.dockerignore'), 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#'))
    : [];
  const stages: BuiltStage[] = [];
  const args: Record<string, string> = {};
  let stage: BuiltStage | undefined;
  const expand = (text: string) =>
    text.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (whole, name: string) => stage?.env[name] ?? args[name] ?? whole);
  const inStage = (path: string) => join(stage!.root, path.startsWith('/') ? path : join(stage!.workdir, path));

  for (const { op, rest } of instructions(readFileSync(options.dockerfile, 'utf8'))) {
    if (op === 'FROM') {
      const [base, as, name] = rest.split(/\s+/);
      const root = join(options.into, `stage-${stages.length}`);
      mkdirSync(root, { recursive: true });
      stage = {
        name: as?.toUpperCase() === 'AS' ? name! : String(stages.length),
        base: base!,
        root,
        workdir: '/',
        env: {},
        cmd: undefined,
        user: undefined,
      };
      stages.push(stage);
      options.log(`FROM ${base} (stage ${stage.name})`);
    } else if (!stage) {
      if (op === 'ARG') {
        const [name, value] = rest.split('=');
        args[name!] = options.args[name!] ?? value ?? '';
      } else throw new Error(`${op} before FROM`);
    } else if (op === 'ARG') {
      const [name, value] = rest.split('=');
      args[name!] = options.args[name!] ?? value ?? '';
    } else if (op === 'ENV') {
      for (const pair of rest.match(/[A-Za-z_][A-Za-z0-9_]*=("[^"]*"|\S*)/g) ?? []) {
        const [name, value] = pair.split(/=(.*)/s);
        stage.env[name!] = expand(value!.replace(/^"|"$/g, ''));
      }
    } else if (op === 'WORKDIR') {
      stage.workdir = expand(rest);
      mkdirSync(join(stage.root, stage.workdir), { recursive: true });
    } else if (op === 'USER') {
      stage.user = rest;
    } else if (op === 'CMD') {
      stage.cmd = JSON.parse(rest);
    } else if (op === 'COPY') {
      const parts = rest.split(/\s+/).filter((p) => !p.startsWith('--chown'));
      const from = parts[0]!.startsWith('--from=') ? parts.shift()!.slice('--from='.length) : undefined;
      const [source, target] = parts.map(expand);
      const destination = inStage(target!);
      if (from === undefined) {
        if (source === '.') copyContext(options.context, destination, patterns);
        else
          cpSync(
            join(options.context, source!),
            destination.endsWith('/') ? join(destination, source!.split('/').pop()!) : destination,
            { recursive: true },
          );
      } else {
        const origin = stages.find((s) => s.name === from);
        if (!origin) throw new Error(`COPY --from=${from}: no such stage`);
        const sourcePath = join(origin.root, source!.startsWith('/') ? source! : join(origin.workdir, source!));
        cpSync(sourcePath, destination, { recursive: true, verbatimSymlinks: true });
      }
      options.log(`COPY ${from ? `--from=${from} ` : ''}${source} ${target}`);
    } else if (op === 'RUN') {
      const command = expand(rest);
      options.log(`RUN ${command}`);
      execFileSync('sh', ['-c', command], {
        cwd: join(stage.root, stage.workdir),
        env: { ...options.env, ...stage.env },
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 300_000,
      });
    } else {
      throw new Error(`unsupported Dockerfile instruction ${op}`);
    }
  }
  return stages;
}

export function appDir(stage: BuiltStage): string {
  return join(stage.root, stage.workdir);
}

export function relativeFiles(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else found.push(relative(root, path));
    }
  };
  walk(root);
  return found;
}
