import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PAYMENT_FAILED, PAYMENT_REQUESTED, PAYMENT_SUCCEEDED } from '@gozon/contracts';
import {
  BROKER_USERS,
  amqpUrlAs,
  brokerDefinitions,
  brokerPermissions,
  hashPassword,
  vhostOf,
} from '../../src/index.ts';

const users = suite('broker users and their permissions');

const matches = (pattern: string, name: string) => new RegExp(pattern).test(name);

users('hashes a password as RabbitMQ does (its documentation’s example: test12, salt 908DC60A)', () => {
  assert.is(hashPassword('test12', Buffer.from('908DC60A', 'hex')), 'kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR');
  assert.is.not(hashPassword('same'), hashPassword('same'), 'a new salt each time');
});

users('a relay or a worker publishes its own types and reads its own queues, under any namespace', () => {
  for (const namespace of ['', 'test.x.1a2b.']) {
    const { permissions, topic_permissions } = brokerPermissions('gozon', namespace, 'admin');
    const of = (user: string) => permissions.find((p) => p.user === user)!;
    const topicOf = (user: string) =>
      topic_permissions.find((p) => p.user === user && p.exchange === `${namespace}gozon`)!;
    const relay = of(BROKER_USERS['orders-relay']);
    const worker = of(BROKER_USERS['payments-worker']);
    assert.ok(matches(relay.read, `${namespace}orders-relay.payment.succeeded`));
    assert.not.ok(matches(relay.read, `${namespace}payments-worker.payment.requested`));
    assert.not.ok(matches(relay.configure, `${namespace}payments-worker.payment.requested`), 'cannot delete it');
    assert.ok(matches(relay.write, `${namespace}payments-worker.payment.requested`), 'may bind it');
    assert.ok(matches(worker.read, `${namespace}payments-worker.payment.requested`));
    assert.not.ok(matches(worker.read, `${namespace}orders-relay.payment.failed`));
    for (const user of [relay, worker]) {
      assert.not.ok(matches(user.write, 'amq.default'), 'no queue reached by name');
      assert.not.ok(matches(user.read, `${namespace}orders-relay.payment.failed.dlq`), 'dead letters are the tool’s');
      assert.not.ok(matches(user.configure, 'anything-else'));
    }
    const deadLetterTopics = topic_permissions.find(
      (p) => p.user === BROKER_USERS['orders-relay'] && p.exchange === `${namespace}gozon.dead-letters`,
    )!;
    assert.ok(matches(deadLetterTopics.write, `${namespace}orders-relay.payment.failed.dlq`));
    assert.not.ok(matches(deadLetterTopics.write, `${namespace}payments-worker.payment.requested.dlq`));
    const relayTopics = topicOf(BROKER_USERS['orders-relay']);
    assert.is(relayTopics.exchange, `${namespace}gozon`);
    assert.ok(matches(relayTopics.write, PAYMENT_REQUESTED));
    assert.not.ok(matches(relayTopics.write, PAYMENT_SUCCEEDED));
    const workerTopics = topicOf(BROKER_USERS['payments-worker']);
    assert.ok(matches(workerTopics.write, PAYMENT_SUCCEEDED) && matches(workerTopics.write, PAYMENT_FAILED));
    assert.not.ok(matches(workerTopics.write, PAYMENT_REQUESTED));
    assert.not.ok(matches(workerTopics.write, 'payment.succeeded.extra'), 'a whole key, not a prefix');
  }
});

users('the DLQ tool reads dead-letter queues only and declares nothing; the admin has the vhost', () => {
  const { permissions } = brokerPermissions('gozon', '', 'admin');
  const dlq = permissions.find((p) => p.user === BROKER_USERS.dlq)!;
  assert.ok(matches(dlq.read, 'payments-worker.payment.requested.dlq'));
  assert.not.ok(matches(dlq.read, 'payments-worker.payment.requested'));
  assert.not.ok(matches(dlq.configure, 'gozon'));
  assert.equal(
    permissions.find((p) => p.user === 'admin'),
    { user: 'admin', vhost: 'gozon', configure: '.*', write: '.*', read: '.*' },
  );
});

users('the definitions make the vhost and the three users, and leave the admin’s password alone', () => {
  const definitions = brokerDefinitions({
    vhost: 'gozon',
    namespace: '',
    admin: 'admin',
    passwords: { 'orders-relay': 'a', 'payments-worker': 'b', dlq: 'c' },
  });
  assert.equal(definitions.vhosts, [{ name: 'gozon' }]);
  assert.equal(definitions.users.map((u) => u.name).sort(), Object.values(BROKER_USERS).sort());
  assert.ok(definitions.users.every((u) => u.hashing_algorithm === 'rabbit_password_hashing_sha256'));
});

users('an AMQP URL names its vhost, and takes another user', () => {
  assert.is(vhostOf('amqp://guest:guest@127.0.0.1:5672'), '/');
  assert.is(vhostOf('amqp://guest:guest@127.0.0.1:5672/'), '/');
  assert.is(vhostOf('amqp://guest:guest@127.0.0.1:5672/%2F'), '/');
  assert.is(vhostOf('amqp://guest:guest@127.0.0.1:5672/gozon'), 'gozon');
  assert.is(
    amqpUrlAs('amqp://guest:guest@rabbit:5672/gozon', 'gozon-dlq', 'p@ss'),
    'amqp://gozon-dlq:p%40ss@rabbit:5672/gozon',
  );
});

users.run();
