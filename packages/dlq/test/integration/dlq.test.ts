import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import amqp from 'amqplib';
import { sql, type Kysely } from 'kysely';
import { PAYMENT_REQUESTED, PAYMENT_SUCCEEDED } from '@gozon/contracts';
import {
  sendToDeadLetters,
  type AmqpConnection,
  type ConfirmChannel,
  type Delivery,
  type MessagingTables,
} from '@gozon/messaging';
import { ordersMigrations } from '@gozon/orders';
import { paymentsMigrations } from '@gozon/payments';
import { newId } from '@gozon/platform';
import {
  AMQP_URL,
  REPO_ROOT,
  createTestBroker,
  createTestDatabase,
  type TestBroker,
  type TestDatabase,
} from '@gozon/testkit';
import { SET_ASIDE_PER_RUN, type DeadLetter, type SetAsideRow } from '@gozon/dlq';

interface Run {
  code: number | string;
  stdout: string;
  stderr: string;
}

/** The real command, as an operator runs it, against the test's namespace. */
function dlq(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['packages/dlq/bin/dlq.ts', ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, AMQP_URL, AMQP_NAMESPACE: broker.namespace, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code, signal) => done({ code: code ?? signal ?? 'unknown', stdout, stderr }));
  });
}

function jsonLines<T>(run: Run): T[] {
  return run.stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

let broker: TestBroker;
let connection: AmqpConnection;
let channel: ConfirmChannel;
let mainQueue: string;
let deadLetters: string;

// Three messages the payments worker gave up on, as its consumer sends them, and one
// RabbitMQ dead-lettered by itself after the quorum queue's delivery limit.
const poison = { id: newId(), body: '{"this is": "not a payment request"', error: new Error('body is not JSON') };
const unknownOrder = {
  id: newId(),
  body: '{"message_id":"m1","order_id":"o1"}',
  error: new Error('order o1 has no amount'),
};
const later = { id: newId(), body: '{"message_id":"m2"}', error: 'a string thrown' };
const crasher = { id: newId(), body: '{"crashes":"the consumer every time"}' };
const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

async function sendAsConsumerWould(message: { id: string; body: string; error: unknown }) {
  if (message.error instanceof Error) message.error.name = 'MalformedMessageError';
  const delivery = {
    content: Buffer.from(message.body),
    fields: {
      deliveryTag: 1,
      redelivered: false,
      exchange: broker.exchange,
      routingKey: PAYMENT_REQUESTED,
      consumerTag: 'test',
    },
    properties: { messageId: message.id, contentType: 'application/json', headers: { traceparent: TRACEPARENT } },
  } as unknown as Delivery;
  await sendToDeadLetters(channel, broker.deadLetterExchange, mainQueue, delivery, message.error);
}

/** Gets and requeues one message until the quorum queue's delivery limit makes RabbitMQ dead-letter it. */
async function exhaustDeliveryLimit() {
  await broker.publish(PAYMENT_REQUESTED, crasher.body, crasher.id);
  for (let attempt = 0; attempt < 500; attempt += 1) {
    const message = await channel.get(mainQueue, { noAck: false });
    if (message) channel.nack(message, false, true);
    else if ((await broker.count(deadLetters)) === 4) return;
    else await sleep(10);
  }
  throw new Error('RabbitMQ never dead-lettered the message');
}

const test = suite('npm run dlq');

test.before(async () => {
  broker = await createTestBroker('dlq');
  mainQueue = broker.queueOf('payments-worker', PAYMENT_REQUESTED);
  deadLetters = broker.deadLettersOf('payments-worker', PAYMENT_REQUESTED);
  connection = await amqp.connect(AMQP_URL);
  channel = await connection.createConfirmChannel();
  for (const message of [poison, unknownOrder, later]) await sendAsConsumerWould(message);
  await exhaustDeliveryLimit();
  assert.is(await broker.count(mainQueue), 0);
  assert.is(await broker.count(deadLetters), 4);
});

test.after(async () => {
  await channel?.close();
  await connection?.close();
  await broker?.close();
});

test('list --json shows every dead letter with its error, and leaves them all in the DLQ', async () => {
  const run = await dlq(['list', '--json']);
  assert.is(run.code, 0, run.stderr);
  const letters = jsonLines<DeadLetter>(run);
  assert.equal(new Set(letters.map((l) => l.messageId)), new Set([poison.id, unknownOrder.id, later.id, crasher.id]));
  const byId = new Map(letters.map((l) => [l.messageId, l]));
  assert.is(byId.get(poison.id)?.error, 'MalformedMessageError: body is not JSON');
  assert.is(byId.get(unknownOrder.id)?.error, 'MalformedMessageError: order o1 has no amount');
  assert.is(byId.get(later.id)?.error, 'a string thrown');
  for (const letter of letters) {
    assert.is(letter.queue, deadLetters);
    assert.is(letter.originalQueue, mainQueue);
    assert.is(letter.routingKey, PAYMENT_REQUESTED);
    assert.ok(
      letter.deadLetteredAt && Math.abs(Date.parse(letter.deadLetteredAt) - Date.now()) < 60_000,
      `a recent time: ${letter.deadLetteredAt}`,
    );
  }
  assert.is(byId.get(poison.id)?.preview, poison.body);
  assert.is(byId.get(poison.id)?.source, 'consumer');
  const broken = byId.get(crasher.id);
  assert.is(broken?.source, 'broker');
  assert.match(String(broken?.error), /delivery_limit/);
  assert.is(await broker.count(deadLetters), 4, 'list consumed nothing');

  const again = await dlq(['list', '--json']);
  assert.equal(
    jsonLines<DeadLetter>(again).map((l) => l.messageId),
    letters.map((l) => l.messageId),
    'a second list sees the same four, in the same order',
  );
});

test('list prints a table with the ids, errors and a count', async () => {
  const run = await dlq(['list']);
  assert.is(run.code, 0, run.stderr);
  assert.ok(run.stdout.includes(`${deadLetters} (4)`), run.stdout);
  for (const { id } of [poison, unknownOrder, later, crasher])
    assert.ok(run.stdout.includes(id), `${id} in\n${run.stdout}`);
  assert.ok(run.stdout.includes('MalformedMessageError: body is not JSON'));
  assert.match(run.stdout, /4 dead letters in namespace/);
  assert.is(await broker.count(deadLetters), 4);
});

test('list --queue and --id select', async () => {
  const run = await dlq(['list', '--json', '--queue', deadLetters, '--id', poison.id, '--id', later.id]);
  assert.is(run.code, 0, run.stderr);
  assert.equal(new Set(jsonLines<DeadLetter>(run).map((l) => l.messageId)), new Set([poison.id, later.id]));
  const other = await dlq(['list', '--json', '--queue', broker.deadLettersOf('orders-relay', 'payment.succeeded')]);
  assert.is(other.code, 0, other.stderr);
  assert.is(other.stdout, '', 'another DLQ is empty');
  assert.is(await broker.count(deadLetters), 4);
});

test('replay --id moves exactly that message back to the main queue, as it was first published', async () => {
  const run = await dlq(['replay', '--id', poison.id]);
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stdout, new RegExp(`replayed ${poison.id}`));
  assert.match(run.stdout, /1 replayed, 0 not replayed/);
  assert.is(await broker.count(deadLetters), 3, 'the others stay');
  const replayed = await broker.drain(mainQueue);
  assert.is(replayed.length, 1);
  const [message] = replayed;
  assert.is(message?.messageId, poison.id);
  assert.is(message?.routingKey, PAYMENT_REQUESTED);
  assert.is(message?.body, poison.body);
  assert.is(message?.headers.traceparent, TRACEPARENT, 'other headers are kept');
  for (const header of ['x-error', 'x-original-queue', 'x-original-routing-key', 'x-dead-lettered-at']) {
    assert.not.ok(header in (message?.headers ?? {}), `no ${header}`);
  }
  // Every list took and requeued it in the DLQ; in the main queue its deliveries count from 0 again.
  assert.is(message?.headers['x-delivery-count'], 0);
  const left = jsonLines<DeadLetter>(await dlq(['list', '--json']));
  assert.equal(new Set(left.map((l) => l.messageId)), new Set([unknownOrder.id, later.id, crasher.id]));
});

test('replay of a message the broker dead-lettered drops its x-death headers', async () => {
  const run = await dlq(['replay', '--id', crasher.id, '--json']);
  assert.is(run.code, 0, run.stderr);
  const [outcome] = jsonLines<{ action: string; messageId: string; replayed: boolean }>(run);
  assert.equal([outcome?.action, outcome?.messageId, outcome?.replayed], ['replay', crasher.id, true]);
  const [message] = await broker.drain(mainQueue);
  assert.is(message?.messageId, crasher.id);
  assert.is(message?.routingKey, PAYMENT_REQUESTED);
  // The quorum queue stamps x-delivery-count on every delivery (0: a fresh start against the delivery limit).
  assert.equal(
    message?.headers,
    { 'x-delivery-count': 0 },
    `no x-death, x-first-death-*: ${JSON.stringify(message?.headers)}`,
  );
  assert.is(await broker.count(deadLetters), 2);
});

test('replay --id of a message that is not there changes nothing and exits 1', async () => {
  const run = await dlq(['replay', '--id', 'no-such-message']);
  assert.is(run.code, 1);
  assert.match(run.stdout, /0 replayed/);
  assert.match(run.stderr, /not found: no dead letter with message id no-such-message/);
  assert.is(await broker.count(deadLetters), 2);
  assert.is(await broker.count(mainQueue), 0);
});

test('a dead letter whose routing key is not its queue’s type is not replayed (a forged header), and exits 1', async () => {
  const stray = newId();
  channel.sendToQueue(deadLetters, Buffer.from('{}'), {
    messageId: stray,
    persistent: true,
    headers: { 'x-error': 'Error: stray', 'x-original-queue': mainQueue, 'x-original-routing-key': 'payment.nowhere' },
  });
  await channel.waitForConfirms();
  const run = await dlq(['replay', '--id', stray]);
  assert.is(run.code, 1);
  assert.match(
    run.stdout,
    new RegExp(`NOT replayed ${stray}.*its routing key payment\\.nowhere is not payment\\.requested`),
  );
  assert.match(run.stdout, /0 replayed, 1 not replayed/);
  assert.is(await broker.count(deadLetters), 3);
  const left = jsonLines<DeadLetter>(await dlq(['list', '--json', '--id', stray]));
  assert.is(left[0]?.error, 'Error: stray');
});

test('a replay the broker cannot route leaves the message in the DLQ and exits 1', async () => {
  const stray = newId();
  channel.sendToQueue(deadLetters, Buffer.from('{}'), {
    messageId: stray,
    persistent: true,
    headers: { 'x-error': 'Error: stray', 'x-original-queue': mainQueue, 'x-original-routing-key': PAYMENT_REQUESTED },
  });
  await channel.waitForConfirms();
  await channel.unbindQueue(mainQueue, broker.exchange, PAYMENT_REQUESTED);
  try {
    const run = await dlq(['replay', '--id', stray]);
    assert.is(run.code, 1);
    assert.match(
      run.stdout,
      new RegExp(
        `NOT replayed ${stray}.*no queue is bound to ${broker.exchange.replace(/\./g, '\\.')} with routing key payment\\.requested`,
      ),
    );
    assert.is(await broker.count(deadLetters), 4);
  } finally {
    await channel.bindQueue(mainQueue, broker.exchange, PAYMENT_REQUESTED);
  }
  assert.is((await dlq(['drop', '--id', stray])).code, 0);
});

test('drop empties the DLQ', async () => {
  const run = await dlq(['drop']);
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stdout, new RegExp(`dropped ${unknownOrder.id}`));
  assert.match(run.stdout, new RegExp(`dropped ${later.id}`));
  assert.match(run.stdout, /3 dropped/);
  assert.is(await broker.count(deadLetters), 0);
  assert.is(await broker.count(mainQueue), 0, 'nothing was published');
});

test('bad usage exits 2 with the usage text', async () => {
  for (const args of [
    [],
    ['peek'],
    ['list', 'replay'],
    ['list', '--nope'],
    ['replay', '--id'],
    ['list', '--queue', 'not-a-dlq'],
  ]) {
    const run = await dlq(args);
    assert.is(run.code, 2, `dlq ${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, /usage: npm run dlq -- <command>/);
  }
  const config = await dlq(['list'], { AMQP_URL: 'http://localhost' });
  assert.is(config.code, 2);
  assert.match(config.stderr, /AMQP_URL must use amqp: or amqps:/);
});

test('an unreachable broker or a namespace without queues exits 1 with a clear message', async () => {
  const unreachable = await dlq(['list'], { AMQP_URL: 'amqp://guest:secret@127.0.0.1:1' });
  assert.is(unreachable.code, 1);
  assert.match(unreachable.stderr, /cannot connect to RabbitMQ at amqp:\/\/guest:\*\*\*@127\.0\.0\.1:1/);
  assert.not.match(unreachable.stderr, /secret/);
  const nowhere = await dlq(['list'], { AMQP_NAMESPACE: `${broker.namespace}missing.` });
  assert.is(nowhere.code, 1);
  assert.match(nowhere.stderr, /not declared in namespace/);
});

test.run();

// The outbox rows a relay set aside, in two freshly migrated domain databases.
const outbox = suite('npm run dlq: set-aside outbox rows');

// Seen through the tables every domain database holds, as the DLQ tool sees them.
let orders: TestDatabase<MessagingTables>;
let payments: TestDatabase<MessagingTables>;
let outboxEnv: Record<string, string>;

// In the orders outbox a request whose queue was gone (as the relay records it after five
// returned publishes) and a row still in line; in the payments outbox one too big.
const unroutable = {
  id: newId(),
  type: PAYMENT_REQUESTED,
  body: '{"order_id": "o-1",\n "amount": 500}',
  error: 'unroutable: no queue is bound for its type (NO_ROUTE)',
};
const inLine = { id: newId(), type: PAYMENT_REQUESTED, body: '{"order_id":"o-2"}' };
const oversize = {
  id: newId(),
  type: PAYMENT_SUCCEEDED,
  body: `{"padding":"${'x'.repeat(300)}"}`,
  error: 'oversize: 300 kB exceeds the broker limit',
};

async function insertOutbox(
  db: Kysely<MessagingTables>,
  row: { id: string; type: string; body: string },
  setAsideWith?: string,
) {
  await db.insertInto('outbox_message').values({ id: row.id, type: row.type, body: row.body }).execute();
  if (setAsideWith) {
    await db
      .updateTable('outbox_message')
      .set({ attempts: 5, last_error: setAsideWith, failed_at: new Date() })
      .where('id', '=', row.id)
      .execute();
  }
}

async function outboxRow(db: Kysely<MessagingTables>, id: string) {
  return db
    .selectFrom('outbox_message')
    .select(['attempts', 'last_error', 'failed_at', 'sent_at'])
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
}

outbox.before(async () => {
  orders = await createTestDatabase<MessagingTables>('dlq_orders', ordersMigrations);
  payments = await createTestDatabase<MessagingTables>('dlq_payments', paymentsMigrations);
  await insertOutbox(orders.db, unroutable, unroutable.error);
  await insertOutbox(orders.db, inLine);
  await insertOutbox(payments.db, oversize, oversize.error);
  // RabbitMQ unreachable on purpose: the outbox commands need only the databases.
  outboxEnv = {
    ORDERS_DATABASE_URL: orders.url,
    PAYMENTS_DATABASE_URL: payments.url,
    AMQP_URL: 'amqp://guest:guest@127.0.0.1:1',
  };
});

outbox.after(async () => {
  await orders?.drop();
  await payments?.drop();
});

outbox(
  'list-outbox --json shows the set-aside rows of both databases with their errors, and changes nothing',
  async () => {
    const run = await dlq(['list-outbox', '--json'], outboxEnv);
    assert.is(run.code, 0, run.stderr);
    const rows = jsonLines<SetAsideRow>(run);
    assert.equal(
      rows.map((row) => row.messageId).sort(),
      [unroutable.id, oversize.id].sort(),
      'the row in line is not listed',
    );
    const byId = new Map(rows.map((row) => [row.messageId, row]));
    const stuck = byId.get(unroutable.id);
    assert.equal(
      [stuck?.database, stuck?.type, stuck?.attempts, stuck?.error],
      ['orders', unroutable.type, 5, unroutable.error],
    );
    assert.is(stuck?.preview, '{"order_id": "o-1", "amount": 500}', 'the body on one line');
    assert.is(stuck?.size, Buffer.byteLength(unroutable.body));
    assert.ok(
      stuck && Math.abs(Date.parse(stuck.setAsideAt) - Date.now()) < 60_000,
      `a recent time: ${stuck?.setAsideAt}`,
    );
    assert.equal([byId.get(oversize.id)?.database, byId.get(oversize.id)?.error], ['payments', oversize.error]);
    assert.match(String(byId.get(oversize.id)?.preview), /…$/, 'a long body is cut');
    assert.match(
      run.stderr,
      /2 outbox rows set aside \(1 in orders, 1 in payments\)/,
      'the count goes to stderr with --json',
    );
    assert.ok((await outboxRow(orders.db, unroutable.id)).failed_at, 'still set aside');
  },
);

outbox('list-outbox prints a table per database with the ids, errors and a count', async () => {
  const run = await dlq(['list-outbox'], outboxEnv);
  assert.is(run.code, 0, run.stderr);
  assert.ok(run.stdout.includes(`orders outbox at ${orders.url} (1)`), run.stdout);
  assert.ok(run.stdout.includes(`payments outbox at ${payments.url} (1)`), run.stdout);
  assert.match(run.stdout, /MESSAGE ID\s+SET ASIDE AT\s+TYPE\s+ATTEMPTS\s+ERROR\s+BODY/);
  for (const { id, error } of [unroutable, oversize]) {
    assert.ok(run.stdout.includes(id), `${id} in\n${run.stdout}`);
    assert.ok(run.stdout.includes(error), `${error} in\n${run.stdout}`);
  }
  assert.not.ok(run.stdout.includes(inLine.id));
  assert.match(run.stdout, /2 outbox rows set aside \(1 in orders, 1 in payments\)/);
});

outbox('retry-outbox --id puts exactly that row back in line with a fresh count', async () => {
  const run = await dlq(['retry-outbox', '--id', unroutable.id], outboxEnv);
  assert.is(run.code, 0, run.stderr);
  assert.ok(
    run.stdout.includes(
      `retried ${unroutable.id} in the orders outbox (${unroutable.type}; 5 attempts; ${unroutable.error})`,
    ),
    run.stdout,
  );
  assert.match(run.stdout, /1 retried \(1 in orders, 0 in payments\); a relay publishes it within its poll interval/);
  const retried = await outboxRow(orders.db, unroutable.id);
  assert.equal(
    [retried.failed_at, retried.attempts, retried.sent_at],
    [null, 0, null],
    'back in line, unsent, counting from 0',
  );
  assert.is(retried.last_error, unroutable.error, 'its last error stays for the record');
  assert.ok((await outboxRow(payments.db, oversize.id)).failed_at, 'the other stays set aside');
  assert.equal((await outboxRow(orders.db, inLine.id)).attempts, 0);
  const left = jsonLines<SetAsideRow>(await dlq(['list-outbox', '--json'], outboxEnv));
  assert.equal(
    left.map((row) => row.messageId),
    [oversize.id],
  );
});

outbox('retry-outbox --id of a row that is not set aside changes nothing and exits 1', async () => {
  for (const id of [newId(), 'not-a-uuid', unroutable.id]) {
    const run = await dlq(['retry-outbox', '--id', id], outboxEnv);
    assert.is(run.code, 1, `${id}: ${run.stderr}`);
    assert.match(run.stdout, /^0 retried \(0 in orders, 0 in payments\)$/m);
    assert.ok(run.stderr.includes(`not found: no set-aside outbox row with message id ${id}`), run.stderr);
  }
  const listed = await dlq(['list-outbox', '--id', unroutable.id], outboxEnv);
  assert.is(listed.code, 1, 'list-outbox --id says so too');
  assert.ok((await outboxRow(payments.db, oversize.id)).failed_at, 'still set aside');
});

outbox('retry-outbox --json retries every row left, one object per row on stdout', async () => {
  const run = await dlq(['retry-outbox', '--json'], outboxEnv);
  assert.is(run.code, 0, run.stderr);
  const done = jsonLines<SetAsideRow & { action: string }>(run);
  assert.equal(
    done.map((row) => [row.action, row.database, row.messageId, row.error]),
    [['retry-outbox', 'payments', oversize.id, oversize.error]],
  );
  assert.match(run.stderr, /1 retried \(0 in orders, 1 in payments\)/);
  assert.is((await outboxRow(payments.db, oversize.id)).failed_at, null);
  const none = await dlq(['list-outbox'], outboxEnv);
  assert.is(none.code, 0, none.stderr);
  assert.match(none.stdout, /^0 outbox rows set aside \(0 in orders, 0 in payments\)$/m);
});

outbox('more rows than one run takes: the oldest are taken, and it says so', async () => {
  await sql`
    insert into outbox_message (id, type, body, attempts, last_error, failed_at)
    select gen_random_uuid(), 'payment.requested', '{}', 5, ${unroutable.error}, now() from generate_series(1, ${SET_ASIDE_PER_RUN + 1})`.execute(
    orders.db,
  );
  const newest = await orders.db
    .selectFrom('outbox_message')
    .select('id')
    .where('failed_at', 'is not', null)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirstOrThrow();
  const countSetAside = async () =>
    Number(
      (
        await orders.db
          .selectFrom('outbox_message')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('failed_at', 'is not', null)
          .executeTakeFirstOrThrow()
      ).n,
    );

  const listed = await dlq(['list-outbox', '--json'], outboxEnv);
  assert.is(listed.code, 0, listed.stderr);
  assert.is(jsonLines<SetAsideRow>(listed).length, SET_ASIDE_PER_RUN);
  assert.ok(
    listed.stderr.includes(
      `more than ${SET_ASIDE_PER_RUN} rows are set aside in orders; only the oldest ${SET_ASIDE_PER_RUN} were looked at`,
    ),
    listed.stderr,
  );

  const beyond = await dlq(['retry-outbox', '--id', newest.id], outboxEnv);
  assert.is(beyond.code, 1);
  assert.ok(
    beyond.stderr.includes(
      `not found: no set-aside outbox row with message id ${newest.id} (only the oldest ${SET_ASIDE_PER_RUN} of orders were looked at)`,
    ),
    beyond.stderr,
  );

  const first = await dlq(['retry-outbox'], outboxEnv);
  assert.is(first.code, 0, first.stderr);
  assert.match(
    first.stdout,
    new RegExp(`^${SET_ASIDE_PER_RUN} retried \\(${SET_ASIDE_PER_RUN} in orders, 0 in payments\\)`, 'm'),
  );
  assert.match(first.stdout, /run retry-outbox again for the rest/);
  assert.is(await countSetAside(), 1);
  const second = await dlq(['retry-outbox', '--id', newest.id], outboxEnv);
  assert.is(second.code, 0, second.stderr);
  assert.is(await countSetAside(), 0);
});

outbox(
  'a database that does not answer fails within DB_CONNECTION_TIMEOUT_MS with a clear message; the other is still served',
  async () => {
    // Accepts connections and never says a word, like a server that hangs.
    const silent: Server = createServer(() => {});
    await new Promise<void>((ready) => silent.listen(0, '127.0.0.1', ready));
    const port = (silent.address() as AddressInfo).port;
    await insertOutbox(payments.db, { id: newId(), type: PAYMENT_SUCCEEDED, body: '{}' }, oversize.error);
    try {
      const started = Date.now();
      const run = await dlq(['list-outbox'], {
        ...outboxEnv,
        ORDERS_DATABASE_URL: `postgres://postgres:secret@127.0.0.1:${port}/gozon_orders`,
        DB_CONNECTION_TIMEOUT_MS: '500',
      });
      assert.ok(Date.now() - started < 10_000, `it took ${Date.now() - started} ms`);
      assert.is(run.code, 1);
      assert.match(
        run.stderr,
        new RegExp(
          `list-outbox failed on the orders database at postgres://postgres:\\*\\*\\*@127\\.0\\.0\\.1:${port}/gozon_orders: .*timeout`,
        ),
      );
      assert.not.match(run.stderr, /secret/);
      assert.match(run.stdout, /1 outbox row set aside \(orders failed, 1 in payments\)/);
      const refused = await dlq(['retry-outbox', '--id', newId()], {
        ...outboxEnv,
        PAYMENTS_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/gozon_payments',
      });
      assert.is(refused.code, 1);
      assert.match(
        refused.stderr,
        /retry-outbox failed on the payments database at postgres:\/\/postgres@127\.0\.0\.1:1\/gozon_payments: .*ECONNREFUSED/,
      );
      assert.match(refused.stderr, /not found: .* \(the payments database failed\)/);
    } finally {
      silent.close();
    }
  },
);

outbox('bad usage or configuration exits 2', async () => {
  const queue = await dlq(['list-outbox', '--queue', deadLetters], outboxEnv);
  assert.is(queue.code, 2);
  assert.match(queue.stderr, /--queue selects a dead-letter queue/);
  assert.match(queue.stderr, /usage: npm run dlq -- <command>/);
  const config = await dlq(['list-outbox'], {
    ...outboxEnv,
    ORDERS_DATABASE_URL: 'http://localhost/gozon_orders',
    DB_CONNECTION_TIMEOUT_MS: 'soon',
  });
  assert.is(config.code, 2);
  assert.match(
    config.stderr,
    /ORDERS_DATABASE_URL must use postgres: or postgresql:.*DB_CONNECTION_TIMEOUT_MS must be an integer/,
  );
});

outbox.run();

// A dead letter nobody gave a message id (put there by hand): a return of its
// republish could not be told from another's, so replay leaves it where it is.
const anonymous = suite('npm run dlq: a dead letter without a message id');

let bare: TestBroker;

anonymous.before(async () => {
  bare = await createTestBroker('dlq_bare');
  const connection = await amqp.connect(AMQP_URL);
  const channel = await connection.createConfirmChannel();
  channel.sendToQueue(bare.deadLettersOf('payments-worker', PAYMENT_REQUESTED), Buffer.from('{}'), {
    persistent: true,
    headers: { 'x-error': 'Error: by hand' },
  });
  await channel.waitForConfirms();
  await connection.close();
});

anonymous.after(async () => {
  await bare?.close();
});

anonymous('replay leaves it in its DLQ and exits 1', async () => {
  const env = { AMQP_NAMESPACE: bare.namespace };
  const run = await dlq(['replay'], env);
  assert.is(run.code, 1, run.stderr);
  assert.match(run.stdout, /NOT replayed \(no message id\) from .*: it has no message id/);
  assert.match(run.stdout, /0 replayed, 1 not replayed/);
  assert.is(await bare.count(bare.deadLettersOf('payments-worker', PAYMENT_REQUESTED)), 1);
  assert.is(await bare.count(bare.queueOf('payments-worker', PAYMENT_REQUESTED)), 0);
});

anonymous.run();
