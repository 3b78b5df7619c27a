import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { healthRoutes, watchReadiness } from '@gozon/http';

const health = suite('health: readiness, liveness and the unready bound');

health('readiness lists what is wrong; liveness fails only once its predicate says so', async () => {
  let live = true;
  const routes = healthRoutes(
    { database: async () => {}, broker: async () => Promise.reject(new Error('inbox retrying: read-only')) },
    () => live,
  );
  const ready = await routes.request('/ready');
  assert.is(ready.status, 503);
  assert.equal(await ready.json(), {
    status: 'unavailable',
    checks: { database: 'ok', broker: 'inbox retrying: read-only' },
  });
  assert.is((await routes.request('/live')).status, 200);
  live = false;
  assert.is((await routes.request('/live')).status, 503);
});

/** Polls until `done`, for at most 10 s: the watch samples once a second. */
async function until(what: string, done: () => boolean) {
  for (let waited = 0; !done(); waited += 50) {
    if (waited > 10_000) throw new Error(`never: ${what}`);
    await sleep(50);
  }
}

health('the watch calls out a process unready past its bound, and a ready moment starts the count again', async () => {
  let problem: string | null = 'broker: not connected';
  const tooLong: string[] = [];
  const watch = watchReadiness(
    () => problem,
    2500,
    (_ms, why) => tooLong.push(why),
  );
  try {
    await until('counting', () => watch.unreadyMs() > 0);
    problem = null;
    await until('ready again', () => watch.unreadyMs() === 0);
    assert.equal(tooLong, [], 'not before the bound');
    problem = 'outbox: failing';
    await until('past the bound', () => tooLong.length > 0);
    assert.is(tooLong[0], 'outbox: failing');
  } finally {
    watch.stop();
  }
});

health.run();
