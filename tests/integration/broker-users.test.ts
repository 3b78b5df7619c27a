import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import amqp from 'amqplib';
import {
  PAYMENT_FAILED,
  PAYMENT_REQUESTED,
  PAYMENT_SUCCEEDED,
  SUBSCRIPTIONS,
  deadLetterExchangeName,
  deadLetterQueueName,
  exchangeName,
  queueName,
  type MessageType,
} from '@gozon/contracts';
import {
  BROKER_USERS,
  amqpUrlAs,
  brokerPasswordSettings,
  brokerPasswordVariable,
  declareTopology,
  sendToDeadLetters,
  type BrokerUserOf,
  type Delivery,
} from '@gozon/messaging';
import { readConfig } from '@gozon/platform';
import { AMQP_URL, launch, uniqueSuffix } from '@gozon/testkit';

// With the definitions the setup step loads (packages/messaging/bin/setup-broker.ts,
// natively through rabbitmqctl), each service's broker user can do its job and
// nothing past it: publish another service's message type, consume another's
// queue, write into a queue through the default exchange, declare as the DLQ tool.

const VHOST = `gozon-test-users-${uniqueSuffix()}`;
const ADMIN_URL = `${AMQP_URL.replace(/\/$/, '')}/${encodeURIComponent(VHOST)}`;
const NAMESPACE = '';
const passwords = readConfig(brokerPasswordSettings);
const ACCESS_REFUSED = 403;

const users = suite('each service connected as its own broker user');
const connections: amqp.ChannelModel[] = [];

async function connectAs(of: BrokerUserOf): Promise<amqp.ChannelModel> {
  const connection = await amqp.connect(amqpUrlAs(ADMIN_URL, BROKER_USERS[of], passwords[brokerPasswordVariable(of)]!));
  connection.on('error', () => {});
  connections.push(connection);
  return connection;
}

/** Runs `work` on a channel of its own, which the broker closes if it refuses; answers the refusal's code, or 'allowed'. */
async function attempt(connection: amqp.ChannelModel, work: (channel: amqp.ConfirmChannel) => Promise<unknown>) {
  const channel = await connection.createConfirmChannel();
  const closed = new Promise<number>((resolve) =>
    channel.on('error', (error: { code?: number }) => resolve(error.code ?? -1)),
  );
  try {
    await work(channel);
    await channel.close();
    return 'allowed';
  } catch {
    return closed;
  }
}

const publish = (exchange: string, type: string) => async (channel: amqp.ConfirmChannel) => {
  channel.publish(exchange, type, Buffer.from('{}'), { persistent: true });
  await channel.waitForConfirms();
};

const queueOf = (consumer: string, type: MessageType) =>
  queueName(
    NAMESPACE,
    SUBSCRIPTIONS.find((s) => s.consumer === consumer && s.type === type)!,
  );

users.before(async () => {
  const setup = await launch({
    name: 'broker-setup',
    command: [process.execPath, 'packages/messaging/bin/setup-broker.ts'],
    env: { AMQP_URL: ADMIN_URL, AMQP_NAMESPACE: NAMESPACE },
  });
  assert.is(await setup.exited, 0, setup.output());
  // Twice: loading the definitions (and declaring the topology) again changes nothing.
  const again = await launch({
    name: 'broker-setup',
    command: [process.execPath, 'packages/messaging/bin/setup-broker.ts'],
    env: { AMQP_URL: ADMIN_URL, AMQP_NAMESPACE: NAMESPACE },
  });
  assert.is(await again.exited, 0, again.output());
});

users.after(async () => {
  await Promise.all(connections.map((c) => c.close().catch(() => {})));
  spawnSync('rabbitmqctl', ['delete_vhost', '--quiet', VHOST]);
});

const exchange = exchangeName(NAMESPACE);

for (const [of, own, others] of [
  ['orders-relay', [PAYMENT_REQUESTED], [PAYMENT_SUCCEEDED, PAYMENT_FAILED]],
  ['payments-worker', [PAYMENT_SUCCEEDED, PAYMENT_FAILED], [PAYMENT_REQUESTED]],
] as const) {
  const other = of === 'orders-relay' ? 'payments-worker' : 'orders-relay';
  users(
    `${of}: declares the topology, publishes ${own.join(' and ')}, consumes its own queues; nothing else`,
    async () => {
      const connection = await connectAs(of);
      await declareTopology(connection, NAMESPACE, undefined, of);
      for (const type of own) assert.is(await attempt(connection, publish(exchange, type)), 'allowed', type);
      for (const s of SUBSCRIPTIONS.filter((s) => s.consumer === of)) {
        assert.is(
          await attempt(connection, (channel) => channel.consume(queueName(NAMESPACE, s), () => {})),
          'allowed',
        );
      }
      const poison = {
        content: Buffer.from('not json'),
        fields: { routingKey: own[0] },
        properties: { messageId: 'm1', headers: {} },
      } as unknown as Delivery;
      const ownQueue = queueName(
        NAMESPACE,
        SUBSCRIPTIONS.find((s) => s.consumer === of)!,
      );
      const theirQueue = queueName(
        NAMESPACE,
        SUBSCRIPTIONS.find((s) => s.consumer === other)!,
      );
      assert.is(
        await attempt(connection, (channel) =>
          sendToDeadLetters(channel, deadLetterExchangeName(NAMESPACE), ownQueue, poison, new Error('poison')),
        ),
        'allowed',
        'dead-lettering',
      );

      for (const type of others) assert.is(await attempt(connection, publish(exchange, type)), ACCESS_REFUSED, type);
      assert.is(
        await attempt(connection, (channel) =>
          sendToDeadLetters(channel, deadLetterExchangeName(NAMESPACE), theirQueue, poison, new Error('forged')),
        ),
        ACCESS_REFUSED,
        'dead-lettering into their dead-letter queue',
      );
      assert.is(
        await attempt(connection, (channel) =>
          channel.bindQueue(ownQueue, deadLetterExchangeName(NAMESPACE), deadLetterQueueName(theirQueue)),
        ),
        ACCESS_REFUSED,
        'binding a queue to their dead letters',
      );
      const theirs = theirQueue;
      assert.is(
        await attempt(connection, (channel) => channel.consume(theirs, () => {})),
        ACCESS_REFUSED,
        'their queue',
      );
      assert.is(
        await attempt(connection, (channel) => channel.get(deadLetterQueueName(ownQueue))),
        ACCESS_REFUSED,
        'a dead-letter queue (the DLQ tool’s)',
      );
      assert.is(
        await attempt(connection, publish('', theirs)),
        ACCESS_REFUSED,
        'straight into their queue, through the default exchange',
      );
      assert.is(
        await attempt(connection, (channel) => channel.assertQueue('intruder', { durable: false })),
        ACCESS_REFUSED,
        'a queue of its own making',
      );
      assert.is(
        await attempt(connection, (channel) => channel.deleteQueue(theirs)),
        ACCESS_REFUSED,
        'deleting their queue',
      );
    },
  );
}

users(
  'the DLQ tool reads dead-letter queues and replays to the exchange; declares and consumes nothing else',
  async () => {
    const connection = await connectAs('dlq');
    const deadLetters = deadLetterQueueName(queueOf('payments-worker', PAYMENT_REQUESTED));
    assert.is(await attempt(connection, (channel) => channel.checkQueue(deadLetters)), 'allowed');
    assert.is(await attempt(connection, (channel) => channel.get(deadLetters)), 'allowed');
    assert.is(await attempt(connection, publish(exchange, PAYMENT_REQUESTED)), 'allowed', 'a replay');
    assert.is(
      await attempt(connection, (channel) => channel.get(queueOf('payments-worker', PAYMENT_REQUESTED))),
      ACCESS_REFUSED,
      'a live queue',
    );
    assert.is(
      await attempt(connection, (channel) => channel.assertExchange(exchange, 'topic', { durable: true })),
      ACCESS_REFUSED,
      'declaring',
    );
  },
);

users.run();
