import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { groupCalls } from '../../src/group-calls.ts';

/** An operation that doubles numbers, refuses negative ones, and records each batch it was given; it finishes when told. */
function doubler() {
  const batches: number[][] = [];
  const finish: Array<() => void> = [];
  const run = async (inputs: number[]) => {
    batches.push(inputs);
    await new Promise<void>((resolve) => finish.push(resolve));
    if (inputs.some((n) => n < 0)) throw new Error(`negative in ${inputs.join(',')}`);
    return inputs.map((n) => n * 2);
  };
  return { batches, run, finishAll: () => finish.splice(0).forEach((f) => f()) };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

const group = suite('groupCalls: calls that arrive together share one execution');

group('a call on a quiet service starts at once, alone', async () => {
  const op = doubler();
  const double = groupCalls(op.run, { maxBatch: 10, maxInFlight: 2, maxWaitMs: 60_000 });
  const answer = double(21);
  await tick();
  assert.equal(op.batches, [[21]]);
  op.finishAll();
  assert.is(await answer, 42);
});

group('calls made while every slot is busy wait, then go together, each answered with its own output', async () => {
  const op = doubler();
  const double = groupCalls(op.run, { maxBatch: 10, maxInFlight: 1, maxWaitMs: 60_000 });
  const first = double(1);
  const waiting = [2, 3, 4].map(double);
  await tick();
  assert.equal(op.batches, [[1]]);
  op.finishAll();
  assert.is(await first, 2);
  await tick();
  assert.equal(op.batches, [[1], [2, 3, 4]]);
  op.finishAll();
  assert.equal(await Promise.all(waiting), [4, 6, 8]);
});

group('a batch takes at most maxBatch calls; the rest go in the next', async () => {
  const op = doubler();
  const double = groupCalls(op.run, { maxBatch: 2, maxInFlight: 1, maxWaitMs: 60_000 });
  const all = [1, 2, 3, 4, 5].map(double);
  for (let i = 0; i < 4; i += 1) {
    await tick();
    op.finishAll();
  }
  assert.equal(await Promise.all(all), [2, 4, 6, 8, 10]);
  assert.equal(op.batches, [[1], [2, 3], [4, 5]]);
});

group('when a batch fails, each call is run once more alone: only the bad one fails', async () => {
  const op = doubler();
  const double = groupCalls(op.run, { maxBatch: 10, maxInFlight: 1, maxWaitMs: 60_000 });
  const first = double(1);
  const rest = [2, -3, 4].map((n) =>
    double(n).then(
      (value) => ({ value }),
      (error: Error) => ({ error: error.message }),
    ),
  );
  await tick();
  op.finishAll();
  await first;
  for (let i = 0; i < 3; i += 1) {
    await tick();
    op.finishAll();
  }
  assert.equal(await Promise.all(rest), [{ value: 4 }, { error: 'negative in -3' }, { value: 8 }]);
  assert.equal(op.batches, [[1], [2, -3, 4], [2], [-3], [4]]);
});

group(
  'a call that fails alone is run once more: an outcome that was unknown is answered from the second run',
  async () => {
    // The first run commits and then loses its acknowledgement; the second finds the work done.
    const runs: number[][] = [];
    const done = new Set<number>();
    const placeOnce = groupCalls(
      async (inputs: number[]) => {
        runs.push(inputs);
        const again = inputs.every((n) => done.has(n));
        inputs.forEach((n) => done.add(n));
        if (!again) throw new Error('connection lost after commit');
        return inputs;
      },
      { maxBatch: 10, maxInFlight: 1, maxWaitMs: 60_000 },
    );
    assert.is(await placeOnce(7), 7);
    assert.equal(runs, [[7], [7]]);
  },
);

group('a call whose second run fails too gets the error of that run', async () => {
  let runs = 0;
  const failing = groupCalls(
    async (): Promise<number[]> => {
      runs += 1;
      throw new Error(`run ${runs} failed`);
    },
    { maxBatch: 10, maxInFlight: 1, maxWaitMs: 60_000 },
  );
  const error = await failing(1).then(
    () => null,
    (e: Error) => e,
  );
  assert.is(error?.message, 'run 2 failed');
  assert.is(runs, 2, 'never a third time');
});

group('a call that cannot start within maxWaitMs fails with a TimeoutError and is never run', async () => {
  const op = doubler();
  const double = groupCalls(op.run, { maxBatch: 10, maxInFlight: 1, maxWaitMs: 20 });
  const first = double(1);
  const error = await double(2).then(
    () => null,
    (e: Error) => e,
  );
  assert.is(error?.name, 'TimeoutError');
  op.finishAll();
  assert.is(await first, 2, 'the call that had started is answered');
  const later = double(3);
  await tick();
  op.finishAll();
  assert.is(await later, 6);
  assert.equal(op.batches, [[1], [3]], '2 was never run');
});

group(
  'an operation that answers the wrong number of outputs fails its callers rather than mixing answers up',
  async () => {
    const double = groupCalls(async (inputs: number[]) => inputs.slice(1), {
      maxBatch: 10,
      maxInFlight: 1,
      maxWaitMs: 60_000,
    });
    const error = await double(1).then(
      () => null,
      (e: Error) => e,
    );
    assert.match(error?.message ?? 'it resolved', /0 outputs for 1 inputs/);
  },
);

group.run();
