import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import amqp from 'amqplib';
import { PAYMENT_REQUESTED } from '@gozon/contracts';
import { sendToDeadLetters, type AmqpConnection, type ConfirmChannel, type DeadLetter, type Delivery } from '@gozon/messaging';
import { newId } from '@gozon/runtime';
import { AMQP_URL, REPO_ROOT, createTestBroker, type TestBroker } from '@gozon/testkit';

interface Run {
  code: number | string;
  stdout: string;
  stderr: string;
}

/** The real command, as an operator runs it, against the test's namespace. */
function dlq(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['scripts/dlq.ts', ...args], {
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
const unknownOrder = { id: newId(), body: '{"message_id":"m1","order_id":"o1"}', error: new Error('order o1 has no amount') };
const later = { id: newId(), body: '{"message_id":"m2"}', error: 'a string thrown' };
const crasher = { id: newId(), body: '{"crashes":"the consumer every time"}' };
const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

async function sendAsConsumerWould(message: { id: string; body: string; error: unknown }) {
  if (message.error instanceof Error) message.error.name = 'MalformedMessageError';
  const delivery = {
    content: Buffer.from(message.body),
    fields: { deliveryTag: 1, redelivered: false, exchange: broker.exchange, routingKey: PAYMENT_REQUESTED, consumerTag: 'test' },
    properties: { messageId: message.id, contentType: 'application/json', headers: { traceparent: TRACEPARENT } },
  } as unknown as Delivery;
  await sendToDeadLetters(channel, mainQueue, delivery, message.error);
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
    assert.ok(letter.deadLetteredAt && Math.abs(Date.parse(letter.deadLetteredAt) - Date.now()) < 60_000, `a recent time: ${letter.deadLetteredAt}`);
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
  for (const { id } of [poison, unknownOrder, later, crasher]) assert.ok(run.stdout.includes(id), `${id} in\n${run.stdout}`);
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
  assert.equal(message?.headers, { 'x-delivery-count': 0 }, `no x-death, x-first-death-*: ${JSON.stringify(message?.headers)}`);
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

test('a replay the broker cannot route leaves the message in the DLQ and exits 1', async () => {
  const stray = newId();
  channel.sendToQueue(deadLetters, Buffer.from('{}'), {
    messageId: stray,
    persistent: true,
    headers: { 'x-error': 'Error: stray', 'x-original-queue': mainQueue, 'x-original-routing-key': 'payment.nowhere' },
  });
  await channel.waitForConfirms();
  const run = await dlq(['replay', '--id', stray]);
  assert.is(run.code, 1);
  assert.match(run.stdout, new RegExp(`NOT replayed ${stray}.*no queue is bound to ${broker.exchange.replace(/\./g, '\\.')} with routing key payment\\.nowhere`));
  assert.match(run.stdout, /0 replayed, 1 not replayed/);
  assert.is(await broker.count(deadLetters), 3);
  const left = jsonLines<DeadLetter>(await dlq(['list', '--json', '--id', stray]));
  assert.is(left[0]?.error, 'Error: stray');
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
  for (const args of [[], ['peek'], ['list', 'replay'], ['list', '--nope'], ['replay', '--id'], ['list', '--queue', 'not-a-dlq']]) {
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
