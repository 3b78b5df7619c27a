// What RabbitMQ spends per message at a low rate, as the pipeline drives it
// (issue 17): through the stack's own topology (a quorum queue), each message
// published as a relay publishes a batch of one (publishConfirmed, its confirm
// awaited), on a connection with TCP_NODELAY as the services' are (connectAmqp),
// and consumed with prefetch 200, two ways: every ack written as soon as its
// message is done, as the inbox consumer did, and acks gathered for 10 ms and
// written together, as it does now (ACK_WITHIN_MS, consumer.ts). Each way
// twice, interleaved. RabbitMQ's CPU and wake-ups come from /proc (beam.smp,
// all threads), so nothing else should drive the broker meanwhile.
//   node scripts/broker-cost.ts [messages per second=500] [seconds=10]
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConsumeMessage } from 'amqplib';
import { PAYMENT_REQUESTED } from '@gozon/contracts';
import { coalesceFrames, connectAmqp, publishConfirmed } from '@gozon/messaging';
import { AMQP_URL, createTestBroker, waitFor } from '@gozon/testkit';
import { readCpuTicks } from './bench/cpu.ts';

const RATE = Number(process.argv[2] ?? 500);
const SECONDS = Number(process.argv[3] ?? 10);
const beam = Number(execFileSync('pgrep', ['-o', '-x', 'beam.smp'], { encoding: 'utf8' }).trim());
const rabbitmq = () => readCpuTicks(new Map([[beam, 'rabbitmq']])).get(beam)!;

type Way = 'each ack at once' | 'acks gathered for 10 ms';

async function measure(way: Way) {
  const broker = await createTestBroker('broker-cost');
  const connection = await connectAmqp(AMQP_URL, 'broker-cost');
  const queue = broker.queueOf('payments-worker', PAYMENT_REQUESTED);
  const publisher = await connection.createConfirmChannel();
  const consumer = await connection.createChannel();
  await consumer.prefetch(200);
  let consumed = 0;
  const gathered: ConsumeMessage[] = [];
  const sendAcks = () => coalesceFrames(consumer, () => gathered.splice(0).forEach((m) => consumer.ack(m)));
  const timer = way === 'acks gathered for 10 ms' ? setInterval(sendAcks, 10) : undefined;
  await consumer.consume(queue, (message) => {
    if (!message) return;
    consumed += 1;
    if (timer) gathered.push(message);
    else consumer.ack(message);
  });
  const body = JSON.stringify({ message_id: '01a2328b-643e-7f6a-83e2-323c10111b69', amount: '2500' });
  const total = RATE * SECONDS;
  const before = rabbitmq();
  const started = performance.now();
  for (let sent = 0; sent < total; sent += 1) {
    const wait = started + (sent * 1000) / RATE - performance.now();
    if (wait > 0) await sleep(wait);
    const id = String(sent);
    await publishConfirmed(
      publisher,
      broker.exchange,
      [{ id, type: PAYMENT_REQUESTED, body, traceparent: null }],
      10_000,
    );
  }
  await waitFor('every message consumed', async () => consumed === total, 30_000);
  await sleep(20);
  clearInterval(timer);
  const after = rabbitmq();
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `${way.padEnd(24)}: ${Math.round(((after.ticks - before.ticks) * 10_000) / total)} µs of RabbitMQ's CPU and ` +
      `${((after.wakeups - before.wakeups) / total).toFixed(1)} wake-ups per message ` +
      `(${total.toLocaleString('en')} messages in ${seconds.toFixed(1)} s, ${Math.round((after.ticks - before.ticks) / seconds)} % of a core)`,
  );
  await connection.close();
  await broker.close();
}

console.log(`broker-cost: ${RATE} messages/s for ${SECONDS} s each way, one publish and one ack per message`);
for (let round = 0; round < 2; round += 1)
  for (const way of ['each ack at once', 'acks gathered for 10 ms'] as const) await measure(way);
