import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PURGE_CHUNK, createLogger, startRetention, type Stoppable } from '@gozon/platform';

interface Logged {
  level: string;
  event: string;
  table?: string;
  count?: number;
  error?: { message: string };
}

/** A logger at debug whose lines land in `lines`, parsed. */
function recordingLogger() {
  const lines: Logged[] = [];
  return {
    lines,
    logger: createLogger('retention-test', 'debug', {}, (line) => void lines.push(JSON.parse(line) as Logged)),
  };
}

/** A delete that answers the counts it is given, one per call, then 0; records when each call began. */
function deleteAnswering(...counts: Array<number | Error>) {
  const calls: Array<{ at: number; limit: number }> = [];
  const deleteChunk = async (limit: number) => {
    calls.push({ at: performance.now(), limit });
    const next = counts.shift() ?? 0;
    if (next instanceof Error) throw next;
    return next;
  };
  return { calls, deleteChunk };
}

async function until(what: string, condition: () => boolean, timeoutMs = 5000) {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) assert.unreachable(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const retention = suite('retention: one scheduler for every purge');
let running: Stoppable | undefined;
retention.after.each(async () => {
  await running?.stop();
  running = undefined;
});

retention('a job runs at once, then again each interval after its run ended', async () => {
  const { logger } = recordingLogger();
  const job = deleteAnswering();
  running = startRetention([{ table: 'outbox_message', intervalMs: 40, deleteChunk: job.deleteChunk }], logger);
  await until('three runs', () => job.calls.length >= 3);
  const gaps = job.calls.slice(1).map((call, i) => call.at - job.calls[i]!.at);
  for (const gap of gaps) assert.ok(gap >= 39, `runs ${gap.toFixed(1)} ms apart`);
});

retention('a run deletes chunk after chunk until one comes back short, then logs the table and the total', async () => {
  const { lines, logger } = recordingLogger();
  const job = deleteAnswering(PURGE_CHUNK, PURGE_CHUNK, 7);
  running = startRetention([{ table: 'inbox_message', intervalMs: 60_000, deleteChunk: job.deleteChunk }], logger);
  await until('the purged line', () => lines.some((line) => line.event === 'retention.purged'));
  assert.equal(
    job.calls.map((call) => call.limit),
    [PURGE_CHUNK, PURGE_CHUNK, PURGE_CHUNK],
  );
  assert.equal(
    lines.map(({ level, event, table, count }) => ({ level, event, table, count })),
    [{ level: 'debug', event: 'retention.purged', table: 'inbox_message', count: 2 * PURGE_CHUNK + 7 }],
  );
});

retention('a run that deletes nothing logs nothing', async () => {
  const { lines, logger } = recordingLogger();
  const job = deleteAnswering(0);
  running = startRetention([{ table: 'inbox_message', intervalMs: 20, deleteChunk: job.deleteChunk }], logger);
  await until('two runs', () => job.calls.length >= 2);
  assert.equal(lines, []);
});

retention('a failing run is logged with its table, and the job tries again on its next interval', async () => {
  const { lines, logger } = recordingLogger();
  const job = deleteAnswering(new Error('the database is read-only'), 3);
  running = startRetention([{ table: 'idempotency_key', intervalMs: 40, deleteChunk: job.deleteChunk }], logger);
  await until('the retry purged', () => lines.some((line) => line.event === 'retention.purged'));
  assert.equal(
    lines.map(({ level, event, table, count, error }) => ({ level, event, table, count, error: error?.message })),
    [
      {
        level: 'warn',
        event: 'retention.failed',
        table: 'idempotency_key',
        count: undefined,
        error: 'the database is read-only',
      },
      { level: 'debug', event: 'retention.purged', table: 'idempotency_key', count: 3, error: undefined },
    ],
  );
  assert.ok(job.calls[1]!.at - job.calls[0]!.at >= 39, 'the retry waited its interval');
});

retention('each job keeps its own interval, and one that hangs holds up no other', async () => {
  const { logger } = recordingLogger();
  const stuck = deleteAnswering();
  let release!: () => void;
  const hanging = async (limit: number) => {
    await stuck.deleteChunk(limit);
    await new Promise<void>((resolve) => (release = resolve));
    return 0;
  };
  const steady = deleteAnswering();
  running = startRetention(
    [
      { table: 'outbox_message', intervalMs: 10, deleteChunk: hanging },
      { table: 'inbox_message', intervalMs: 10, deleteChunk: steady.deleteChunk },
    ],
    logger,
  );
  await until('the steady job runs on', () => steady.calls.length >= 5);
  assert.is(stuck.calls.length, 1, 'the hanging job never ran over itself');
  release();
});

retention('stop waits for the chunk in flight, starts no other, and cancels the waits', async () => {
  const { logger } = recordingLogger();
  const calls: number[] = [];
  let finish!: (deleted: number) => void;
  const deleteChunk = (limit: number) => {
    calls.push(limit);
    return new Promise<number>((resolve) => (finish = resolve));
  };
  const idle = deleteAnswering();
  const scheduler = startRetention(
    [
      { table: 'outbox_message', intervalMs: 60_000, deleteChunk },
      { table: 'inbox_message', intervalMs: 60_000, deleteChunk: idle.deleteChunk },
    ],
    logger,
  );
  await until('the chunk in flight', () => calls.length === 1);
  let stopped = false;
  const stopping = scheduler.stop().then(() => (stopped = true));
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.not.ok(stopped, 'stop waits for the chunk in flight');
  finish(PURGE_CHUNK); // a full chunk: there is more, but stopping starts no other
  await stopping;
  assert.equal(calls, [PURGE_CHUNK]);
  assert.is(idle.calls.length, 1, 'the waiting job ran once and stopped without its 60 s wait');
});

retention.run();
