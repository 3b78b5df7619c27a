import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ApiError, createApi, type FetchLike, type Write } from '../../src/lib/api.ts';
import {
  actionFor,
  createActionRunner,
  newActionKey,
  outcomeUnknown,
  unsureText,
  workingText,
  WORDS,
  type ActionView,
} from '../../src/lib/actions.ts';

const BASE = 'http://localhost:8080';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const orderJson = (description: string) => ({
  order_id: '3f2b1a00-1111-4222-8333-944455556666',
  user_id: 'alice',
  amount: 10,
  description,
  status: 'NEW',
  cancel_reason: null,
  created_at: '2026-11-25T10:00:00.000Z',
  updated_at: '2026-11-25T10:00:00.000Z',
});

interface Sent {
  key: string | undefined;
  body: string | undefined;
}

/**
 * The order form's action against a gateway whose answers the test decides:
 * `answer` is called for each request and may throw (no answer) or hold it.
 */
function orderForm(answer: (sent: Sent) => Response | Promise<Response>) {
  const sent: Sent[] = [];
  const fetch: FetchLike = async (_url, init) => {
    const one = {
      key: (init?.headers as Record<string, string>)['idempotency-key'],
      body: init?.body as string | undefined,
    };
    sent.push(one);
    return answer(one);
  };
  const api = createApi({ baseUrl: BASE, fetch, sleep: async () => {} });
  const views: Array<ActionView<{ amount: bigint; description: string }>> = [];
  const runner = createActionRunner(
    (order: { amount: bigint; description: string }, write: Write) =>
      api.placeOrder('alice', order.amount, order.description, write),
    (view) => views.push(view),
  );
  return { runner, sent, views };
}

const placed = (sent: Sent) =>
  new Response(JSON.stringify(orderJson(JSON.parse(sent.body ?? '{}').description)), { status: 201 });
const noAnswer = (): Response => {
  throw new TypeError('Failed to fetch');
};

const keys = suite('a key per user action');

keys('a new action gets a new key: the same order placed twice on purpose is two orders', async () => {
  const { runner, sent } = orderForm(placed);
  assert.is((await runner.run({ amount: 1000n, description: 'a book' })).status, 'done');
  assert.is((await runner.run({ amount: 1000n, description: 'a book' })).status, 'done');
  assert.is(sent.length, 2);
  assert.match(sent[0]!.key!, UUID);
  assert.match(sent[1]!.key!, UUID);
  assert.is.not(sent[0]!.key, sent[1]!.key);
});

keys(
  'no answer after every automatic retry → the outcome is unknown, and "Try again" resends it under the same key and body',
  async () => {
    let down = true;
    const { runner, sent, views } = orderForm((one) => (down ? noAnswer() : placed(one)));
    const first = await runner.run({ amount: 1000n, description: 'a book' });
    assert.is(first.status, 'failed');
    assert.ok(first.status === 'failed' && first.unsure, 'kept to try again');
    assert.is(sent.length, 3, 'three attempts, then the person is told');
    assert.equal(views.at(-1), { working: null, unsure: { amount: 1000n, description: 'a book' } });

    down = false;
    const again = await runner.again();
    assert.is(again.status, 'done');
    assert.is(sent.length, 4);
    assert.is(new Set(sent.map((s) => s.key)).size, 1, 'every attempt, automatic or by hand, under one key');
    assert.is(new Set(sent.map((s) => s.body)).size, 1, 'and with one body');
    assert.equal(views.at(-1), { working: null, unsure: null }, 'settled: nothing left to try again');

    await runner.run({ amount: 1000n, description: 'a book' });
    assert.is.not(sent[4]!.key, sent[0]!.key, 'the next action after that is a new one');
  },
);

keys(
  'submitting the same order again after an unknown outcome is the same action (a second click cannot pay twice)',
  async () => {
    let down = true;
    const { runner, sent } = orderForm((one) => (down ? noAnswer() : placed(one)));
    await runner.run({ amount: 1000n, description: 'a book' });
    down = false;
    await runner.run({ amount: 1000n, description: 'a book' });
    assert.is(new Set(sent.map((s) => s.key)).size, 1);
  },
);

keys('an edited order after an unknown outcome is a new action with a new key', async () => {
  let down = true;
  const { runner, sent } = orderForm((one) => (down ? noAnswer() : placed(one)));
  await runner.run({ amount: 1000n, description: 'a book' });
  down = false;
  await runner.run({ amount: 1000n, description: 'two books' });
  assert.is(sent.length, 4);
  assert.is.not(sent[3]!.key, sent[0]!.key);
  assert.match(sent[3]!.key!, UUID);
});

keys('a refusal settles the action: the next submit is a new one', async () => {
  const { runner, sent } = orderForm(
    () => new Response(JSON.stringify({ error: { code: 'INVALID_AMOUNT', message: 'no' } }), { status: 400 }),
  );
  const refused = await runner.run({ amount: 1000n, description: 'a book' });
  assert.ok(refused.status === 'failed' && !refused.unsure);
  await runner.run({ amount: 1000n, description: 'a book' });
  assert.is(sent.length, 2, 'a refusal is not retried');
  assert.is.not(sent[0]!.key, sent[1]!.key);
});

keys('while an action is in flight a second one starts nothing', async () => {
  let release = () => {};
  const held = new Promise<void>((done) => (release = done));
  const { runner, sent, views } = orderForm(async (one) => {
    await held;
    return placed(one);
  });
  const first = runner.run({ amount: 1000n, description: 'a book' });
  assert.ok(runner.busy());
  assert.equal(
    views.at(-1)?.working,
    { payload: { amount: 1000n, description: 'a book' }, retry: null },
    'shown as working',
  );
  assert.equal(await runner.run({ amount: 1000n, description: 'a book' }), { status: 'busy' });
  assert.equal(await runner.run({ amount: 5n, description: 'other' }), { status: 'busy' });
  release();
  assert.is((await first).status, 'done');
  assert.is(sent.length, 1);
  assert.not.ok(runner.busy());
});

keys('the view tells each automatic retry while it happens', async () => {
  let calls = 0;
  const { runner, views } = orderForm((one) => (++calls === 1 ? noAnswer() : placed(one)));
  await runner.run({ amount: 1000n, description: 'a book' });
  const retry = views.find((v) => v.working?.retry)?.working?.retry;
  assert.ok(retry, 'a retry was shown');
  assert.is(retry.attempt, 2);
  assert.is(retry.reason.code, 'NETWORK');
});

keys('keys are random v4 UUIDs, also where crypto.randomUUID is missing (plain http on another host)', () => {
  assert.match(newActionKey(), UUID);
  assert.is.not(newActionKey(), newActionKey());
  const withoutRandomUuid = {
    getRandomValues: (array: Uint8Array<ArrayBuffer>) => globalThis.crypto.getRandomValues(array),
  };
  const fallback = newActionKey(withoutRandomUuid);
  assert.match(fallback, UUID);
  assert.is.not(fallback, newActionKey(withoutRandomUuid));
});

keys('actionFor keeps the unsure action only for the very same data', () => {
  const unsure = { key: 'k1', payload: { amount: 5n, description: 'x' } };
  assert.is(actionFor(unsure, { amount: 5n, description: 'x' }), unsure);
  assert.is.not(actionFor(unsure, { amount: 6n, description: 'x' }).key, 'k1');
  assert.is.not(actionFor(null, { amount: 5n, description: 'x' }).key, 'k1');
});

keys.run();

const words = suite('what the person is told');

words('which failures leave the outcome unknown', () => {
  assert.ok(outcomeUnknown(new ApiError('network', null, 'TIMEOUT', 'no answer')));
  assert.ok(outcomeUnknown(new ApiError('network', null, 'NETWORK', 'no answer')));
  assert.not.ok(outcomeUnknown(new ApiError('refused', null, 'CORS_REFUSED', 'refused by CORS: never sent')));
  assert.ok(outcomeUnknown(new ApiError('http', 503, 'SERVICE_UNAVAILABLE', 'down')));
  assert.ok(outcomeUnknown(new ApiError('http', 500, 'INTERNAL', 'boom')));
  assert.ok(outcomeUnknown(new ApiError('invalid-response', 201, 'INVALID_RESPONSE', 'odd')));
  assert.not.ok(outcomeUnknown(new ApiError('http', 400, 'INVALID_AMOUNT', 'no')));
  assert.not.ok(outcomeUnknown(new ApiError('http', 409, 'BALANCE_LIMIT', 'no')));
  assert.not.ok(outcomeUnknown(new Error('open a wallet first')));
});

words('still working, and why it is trying again', () => {
  assert.is(
    workingText(null, WORDS.order),
    'Still working… The order will be placed only once, so there is no need to click again.',
  );
  const reason = new ApiError('network', null, 'TIMEOUT', 'The gateway at x did not answer within 15 s.');
  assert.is(
    workingText({ attempt: 2, attempts: 3, reason, delayMs: 1000 }, WORDS.order),
    'Still working: no answer yet. Trying again (2 of 3); the order will be placed only once.',
  );
  assert.match(
    workingText(
      { attempt: 3, attempts: 3, reason: new ApiError('http', 503, 'SERVICE_UNAVAILABLE', 'x'), delayMs: 1 },
      WORDS.topUp,
    ),
    /unavailable for a moment.*added only once/,
  );
});

words('an unknown outcome says so and what "Try again" does', () => {
  const error = new ApiError(
    'network',
    null,
    'NETWORK',
    'The gateway at http://localhost:8080 cannot be reached. Check that the shop’s API is running.',
  );
  assert.is(
    unsureText(error, WORDS.order),
    'The gateway at http://localhost:8080 cannot be reached. Check that the shop’s API is running. It is not known yet whether the order was placed. “Try again” sends the same order, and it can never be placed twice.',
  );
});

words.run();
