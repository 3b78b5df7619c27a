// The broker's setup step (src/broker-setup.ts): Gozon's vhost, users and permissions,
// then the whole topology; all of it within RABBITMQ_SETUP_TIMEOUT_MS, or it exits 1.
import pTimeout from 'p-timeout';
import { createLogger, readConfig } from '@gozon/platform';
import {
  BROKER_USERS,
  brokerDefinitions,
  brokerPasswordSettings,
  brokerPasswordVariable,
  brokerSetupSettings,
  connectAmqp,
  declareTopology,
  importDefinitions,
  vhostOf,
  type BrokerUserOf,
} from '../src/index.ts';

const config = readConfig(brokerSetupSettings);
const passwords = readConfig(brokerPasswordSettings);
const logger = createLogger('broker-setup', config.LOG_LEVEL);
const vhost = vhostOf(config.AMQP_URL);
const users = Object.keys(BROKER_USERS) as BrokerUserOf[];

async function setUp() {
  await importDefinitions(
    brokerDefinitions({
      vhost,
      namespace: config.AMQP_NAMESPACE,
      admin: decodeURIComponent(new URL(config.AMQP_URL).username),
      passwords: Object.fromEntries(users.map((of) => [of, passwords[brokerPasswordVariable(of)]!])) as Record<
        BrokerUserOf,
        string
      >,
    }),
    {
      managementUrl: config.RABBITMQ_MANAGEMENT_URL,
      adminUrl: config.AMQP_URL,
      timeoutMs: config.RABBITMQ_SETUP_TIMEOUT_MS,
    },
  );
  // The whole topology, as the administrator: a message published before its consumer ever
  // started has a queue, which only its consumer's user could otherwise declare.
  const connection = await connectAmqp(config.AMQP_URL, 'broker-setup');
  try {
    await declareTopology(connection, config.AMQP_NAMESPACE);
  } finally {
    await connection.close();
  }
}

try {
  await pTimeout(setUp(), { milliseconds: config.RABBITMQ_SETUP_TIMEOUT_MS });
  logger.info('broker_setup.done', {
    vhost,
    users: users.map((of) => BROKER_USERS[of]),
    via: config.RABBITMQ_MANAGEMENT_URL ? 'management API' : 'rabbitmqctl',
  });
} catch (error) {
  logger.error('broker_setup.failed', { vhost, error });
  process.exitCode = 1;
  // A connection still trying would keep the process alive: its orchestrator needs the exit.
  setTimeout(() => process.exit(1), 1000).unref();
}
