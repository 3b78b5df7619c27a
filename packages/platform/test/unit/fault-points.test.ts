import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import {
  ConfigError,
  armFaultPoints,
  faultPointSettings,
  parseFaultPlan,
  readConfig,
  reachFaultPoint,
} from '@gozon/platform';

const points = suite('fault points');

points('GOZON_FAULTS reads points with their probabilities, 1 when none is given', () => {
  const { GOZON_FAULTS } = readConfig(faultPointSettings, {
    GOZON_FAULTS: 'relay.after-publish:0.01, consumer.after-commit',
  });
  assert.equal(
    [...GOZON_FAULTS],
    [
      ['relay.after-publish', 0.01],
      ['consumer.after-commit', 1],
    ],
  );
});

points('unset, GOZON_FAULTS arms nothing', () => {
  assert.is(readConfig(faultPointSettings, {}).GOZON_FAULTS.size, 0);
});

points('a bad GOZON_FAULTS fails the start, naming the setting and the entry', () => {
  for (const [spec, entry] of [
    ['relay.after-publsh:1', 'relay.after-publsh:1'],
    ['relay.after-publish:2', 'relay.after-publish:2'],
    ['relay.after-publish:often', 'relay.after-publish:often'],
    ['consumer.after-commit,', ''],
  ]) {
    try {
      readConfig(faultPointSettings, { GOZON_FAULTS: spec });
      assert.unreachable(`${spec} must be refused`);
    } catch (error) {
      assert.instance(error, ConfigError);
      assert.match((error as Error).message, `GOZON_FAULTS has a bad entry ${JSON.stringify(entry)}`);
    }
  }
});

points('a point disarmed, or armed at probability 0, is passed', () => {
  reachFaultPoint('relay.after-publish');
  armFaultPoints(parseFaultPlan('relay.after-publish:0'));
  reachFaultPoint('relay.after-publish');
  armFaultPoints(parseFaultPlan(''));
});

points('a point armed at probability 1 kills its process there, saying which', () => {
  const module = join(import.meta.dirname, '../../src/fault-points.ts');
  const script = `
    const { armFaultPoints, parseFaultPlan, reachFaultPoint } = await import(${JSON.stringify(module)});
    armFaultPoints(parseFaultPlan('consumer.after-commit:1'));
    reachFaultPoint('relay.after-publish');
    console.log('passed the disarmed point');
    reachFaultPoint('consumer.after-commit');
    console.log('survived');`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.is(child.signal, 'SIGKILL');
  const lines = child.stdout.trim().split('\n');
  assert.is(lines[0], 'passed the disarmed point');
  assert.equal(JSON.parse(lines[1]!), {
    time: JSON.parse(lines[1]!).time,
    level: 'warn',
    event: 'fault.kill',
    point: 'consumer.after-commit',
  });
  assert.is(lines.length, 2, 'nothing after the kill');
});

points.run();
