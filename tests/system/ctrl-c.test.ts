import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStack } from '@gozon/testkit';

// Ctrl-C in a terminal sends SIGINT to the whole foreground process group.
// When the services shared the runner's group, each got that SIGINT and then
// the runner's SIGTERM, took the second signal for "force it" and exited 1.
// One Ctrl-C must be one stop: the runner alone hears it and stops each
// process once, and none outlives it.

const ctrlC = suite('Ctrl-C on npm run stack');

ctrlC('one Ctrl-C stops every process once, cleanly, and none outlives the runner', async () => {
  // info, for each service's shutdown.started and the signal it names
  const stack = await startStack('ctrlc', { LOG_LEVEL: 'info' }, { processGroup: true });
  const pids = JSON.parse(readFileSync(join(stack.dir, 'pids.json'), 'utf8')) as Record<string, number>;
  const code = await stack.interrupt();
  const output = stack.output();

  assert.is(code, 0, `the runner exits 0:\n${output}`);
  assert.match(output, '[stack] stopped cleanly');
  assert.not.match(output, '"event":"shutdown.forced"', 'no service took a second signal');
  const signals = [...output.matchAll(/"event":"shutdown\.started".*?"signal":"(\w+)"/g)].map((m) => m[1]);
  const services = Object.keys(pids).filter((name) => name !== 'gateway');
  assert.equal(
    signals,
    services.map(() => 'SIGTERM'),
    'each service got one SIGTERM from the runner, and no SIGINT',
  );
  for (const [name, pid] of Object.entries(pids)) {
    assert.throws(() => process.kill(pid, 0), /ESRCH/, `${name} (pid ${pid}) is gone`);
  }
});

ctrlC.run();
