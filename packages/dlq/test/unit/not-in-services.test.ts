import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { globSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import * as dlq from '@gozon/dlq';

// The DLQ tool is an operator's: no service, worker or migration loads it, and
// none of its code lives in a library they load. Read from the source, by
// following every import from each process's entry file.

const ROOT = resolve(import.meta.dirname, '../../../..');
const DLQ_PACKAGE = join(ROOT, 'packages/dlq') + sep;

/** Every process a deployment runs: the four deployables' mains and the setup steps (migrations, broker-setup). */
const ENTRIES = [...globSync('*/src/main.ts', { cwd: ROOT }), ...globSync('packages/*/bin/*.ts', { cwd: ROOT })]
  .filter((file) => !join(ROOT, file).startsWith(DLQ_PACKAGE))
  .sort();

/** The workspace packages, by name, to the file their "." export names. */
const PACKAGES = new Map(
  globSync('packages/*/package.json', { cwd: ROOT }).map((file) => {
    const manifest = JSON.parse(readFileSync(join(ROOT, file), 'utf8')) as {
      name: string;
      exports: Record<string, string>;
    };
    return [manifest.name, join(ROOT, dirname(file), manifest.exports['.']!)] as const;
  }),
);

/** The file an import names, when it is one of this repository's; a third party's module answers undefined. */
function resolveImport(from: string, specifier: string): string | undefined {
  if (specifier.startsWith('.')) return resolve(dirname(from), specifier);
  return PACKAGES.get(specifier);
}

/** Every file of the repository that `entry` loads, each with the chain of imports that reaches it. */
function loadedBy(entry: string): Map<string, string[]> {
  const start = join(ROOT, entry);
  const chains = new Map([[start, [entry]]]);
  const queue = [start];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    // Static, dynamic and type-only imports and re-exports alike.
    for (const { fileName } of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles) {
      const imported = resolveImport(file, fileName);
      if (imported === undefined || chains.has(imported)) continue;
      chains.set(imported, [...chains.get(file)!, relative(ROOT, imported)]);
      queue.push(imported);
    }
  }
  return chains;
}

// What the tool does, by the names it exports; type-only exports are not among them.
const TOOL_OPERATIONS = Object.keys(dlq);

const test = suite('the DLQ tool is loaded by no process but its own');

test('the entries are the deployables and the setup steps', () => {
  assert.equal(ENTRIES, [
    'orders-api/src/main.ts',
    'orders-relay/src/main.ts',
    'packages/messaging/bin/setup-broker.ts',
    'packages/orders/bin/migrate.ts',
    'packages/payments/bin/migrate.ts',
    'payments-api/src/main.ts',
    'payments-worker/src/main.ts',
  ]);
  assert.ok(
    TOOL_OPERATIONS.includes('replayDeadLetters') && TOOL_OPERATIONS.includes('workOnSetAside'),
    TOOL_OPERATIONS.join(', '),
  );
});

for (const entry of ENTRIES) {
  test(`${entry} never loads packages/dlq`, () => {
    const files = loadedBy(entry);
    assert.ok(files.size > 1, `${entry} loads something`);
    for (const [file, chain] of files) {
      assert.not.ok(file.startsWith(DLQ_PACKAGE), `loaded through ${chain.join(' → ')}`);
    }
  });

  test(`${entry} loads no copy of the tool's operations`, () => {
    for (const [file, chain] of loadedBy(entry)) {
      const source = readFileSync(file, 'utf8');
      for (const name of TOOL_OPERATIONS) {
        assert.not.match(
          source,
          new RegExp(`\\b(function|class|const|let)\\s+${name}\\b`),
          `${name} is defined in ${chain.join(' → ')}`,
        );
      }
    }
  });
}

test.run();
