// Least privilege in RabbitMQ: a vhost for Gozon, and a user per process that
// talks to the broker, allowed what its job needs. RabbitMQ checks three
// permissions per user and vhost, each a regular expression over resource
// names (https://www.rabbitmq.com/docs/access-control#authorisation):
// configure (declare, delete), write (publish to an exchange, bind a queue)
// and read (consume from a queue, bind from an exchange); and, on topic
// exchanges only, topic permissions over routing keys: write (publish with the
// key), read (bind with it).
import { createHash, randomBytes } from 'node:crypto';
import {
  PUBLISHERS,
  SUBSCRIPTIONS,
  deadLetterExchangeName,
  deadLetterQueueName,
  exchangeName,
  queueName,
  type MessageType,
} from '@gozon/contracts';

/** Gozon's vhost on this machine's RabbitMQ, where `npm run stack` runs: whose URL each process's default adds its user to. */
export const LOCAL_BROKER_URL = 'amqp://127.0.0.1:5672/gozon';

/** The broker user of each process that has one. */
export const BROKER_USERS = {
  'orders-relay': 'gozon-orders-relay',
  'payments-worker': 'gozon-payments-worker',
  dlq: 'gozon-dlq',
} as const;

export type BrokerUserOf = keyof typeof BROKER_USERS;

/** A RabbitMQ definitions document (what `rabbitmqctl import_definitions` and POST /api/definitions take), the parts we use. */
export interface BrokerDefinitions {
  users: Array<{ name: string; password_hash: string; hashing_algorithm: string; tags: string[] }>;
  vhosts: Array<{ name: string }>;
  permissions: Array<{ user: string; vhost: string; configure: string; write: string; read: string }>;
  topic_permissions: Array<{ user: string; vhost: string; exchange: string; write: string; read: string }>;
}

/**
 * RabbitMQ's default password hash, rabbit_password_hashing_sha256: base64 of a
 * 4-byte salt followed by SHA-256(salt ‖ UTF-8 password).
 * Source: https://www.rabbitmq.com/docs/passwords#computing-password-hash
 */
export function hashPassword(password: string, salt: Buffer = randomBytes(4)): string {
  const digest = createHash('sha256').update(salt).update(password, 'utf8').digest();
  return Buffer.concat([salt, digest]).toString('base64');
}

const NOTHING = '^$';

/** A pattern that matches exactly these names. */
function exactly(names: readonly string[]): string {
  return `^(${names.map((name) => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$`;
}

function typesOf(service: string): MessageType[] {
  return (Object.entries(PUBLISHERS) as Array<[MessageType, string]>)
    .filter(([, by]) => by === service)
    .map(([type]) => type);
}

/**
 * What each user may do in the vhost, for a topology under `namespace`:
 *
 * - a messaging service (orders-relay, payments-worker) declares the exchanges
 *   and its own queues (configure; declareTopology with its name), binds every
 *   main queue (write on the queues, read on the exchanges), publishes only its
 *   own message types (topic write on the exchange), consumes only its own
 *   queues (read), and dead-letters only into its own dead-letter queues (topic
 *   write on the dead-letter exchange, keyed by their names). It cannot delete
 *   another's queue, which needs configure;
 * - the DLQ tool reads the dead-letter queues and publishes a replay to the
 *   exchange with any type, and declares nothing;
 * - `admin` (the management UI's, and the setup step's) may do anything in the vhost.
 *
 * The whole topology is declared by the setup step (packages/messaging/bin/setup-broker.ts).
 */
export function brokerPermissions(vhost: string, namespace: string, admin: string) {
  const exchange = exchangeName(namespace);
  const deadLetterExchange = deadLetterExchangeName(namespace);
  const queues = SUBSCRIPTIONS.map((s) => queueName(namespace, s));
  const allDeadLetterQueues = queues.map(deadLetterQueueName);
  const allTypes = [...new Set(SUBSCRIPTIONS.map((s) => s.type))];
  const messaging = (service: 'orders-relay' | 'payments-worker') => {
    const own = SUBSCRIPTIONS.filter((s) => s.consumer === service).map((s) => queueName(namespace, s));
    const ownDeadLetters = own.map(deadLetterQueueName);
    const user = BROKER_USERS[service];
    return {
      permission: {
        user,
        vhost,
        configure: exactly([exchange, deadLetterExchange, ...own, ...ownDeadLetters]),
        write: exactly([exchange, deadLetterExchange, ...queues, ...ownDeadLetters]),
        read: exactly([exchange, deadLetterExchange, ...own]),
      },
      topics: [
        { user, vhost, exchange, write: exactly(typesOf(service)), read: exactly(allTypes) },
        { user, vhost, exchange: deadLetterExchange, write: exactly(ownDeadLetters), read: exactly(ownDeadLetters) },
      ],
    };
  };
  const relay = messaging('orders-relay');
  const worker = messaging('payments-worker');
  return {
    permissions: [
      relay.permission,
      worker.permission,
      {
        user: BROKER_USERS.dlq,
        vhost,
        configure: NOTHING,
        write: exactly([exchange]),
        read: exactly(allDeadLetterQueues),
      },
      { user: admin, vhost, configure: '.*', write: '.*', read: '.*' },
    ],
    topic_permissions: [
      ...relay.topics,
      ...worker.topics,
      { user: BROKER_USERS.dlq, vhost, exchange, write: exactly(allTypes), read: NOTHING },
    ],
  };
}

/**
 * The definitions that make Gozon's vhost, its users (with `passwords`, user →
 * password; RabbitMQ keeps only a salted hash) and their permissions
 * (brokerPermissions). `admin` must exist already (it is the one importing);
 * it is given the vhost, not touched otherwise. Importing them again is
 * harmless: every entry is created or overwritten.
 */
export function brokerDefinitions(options: {
  vhost: string;
  namespace: string;
  admin: string;
  passwords: Readonly<Record<BrokerUserOf, string>>;
}): BrokerDefinitions {
  return {
    users: (Object.keys(BROKER_USERS) as BrokerUserOf[]).map((of) => ({
      name: BROKER_USERS[of],
      password_hash: hashPassword(options.passwords[of]),
      hashing_algorithm: 'rabbit_password_hashing_sha256',
      tags: [],
    })),
    vhosts: [{ name: options.vhost }],
    ...brokerPermissions(options.vhost, options.namespace, options.admin),
  };
}

/** The vhost an AMQP URL names: its path, decoded; "/" when it has none (https://www.rabbitmq.com/docs/uri-spec). */
export function vhostOf(url: string): string {
  const path = new URL(url).pathname;
  return path === '' || path === '/' ? '/' : decodeURIComponent(path.slice(1));
}

/** `url` (an administrator's) as `user` logs in with it, on the same host and vhost. */
export function amqpUrlAs(url: string, user: string, password: string): string {
  const parsed = new URL(url);
  parsed.username = encodeURIComponent(user);
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}
