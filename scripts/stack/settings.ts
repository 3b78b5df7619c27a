// What `npm run stack` reads from the environment, once, at start.
import { join, resolve } from 'node:path';
import { ORDERS_DATABASE } from '@gozon/orders';
import { PAYMENTS_DATABASE } from '@gozon/payments';
import { brokerPasswordSettings, brokerSetupSettings } from '@gozon/messaging';
import { commonSettings, databaseUrl, integer, text, type Config } from '@gozon/platform';

const ROOT = resolve(import.meta.dirname, '../..');
const RATE = { min: 1, max: 1_000_000 };

/** Every variable the native runner reads, with its default (README: `npm run stack`). */
export const settings = {
  STACK_REPLICAS: integer(2, 'replicas of orders-relay and of payments-worker', { min: 1, max: 16 }),
  STACK_API_REPLICAS: integer(2, 'replicas of orders-api and of payments-api', { min: 1, max: 16 }),
  STACK_DIR: text(join(ROOT, '.stack'), 'folder for the rendered nginx config and its temp files'),
  // The administrators' URLs: the setup steps create the roles and users each service then logs in as.
  ORDERS_DATABASE_URL: databaseUrl(ORDERS_DATABASE, 'orders database (created if missing)'),
  // Empty: ORDERS_DATABASE_URL. The fault suite sets it to a fault proxy in front of PostgreSQL.
  ORDERS_API_DATABASE_URL: text(
    '',
    'how orders-api alone reaches the orders database, when not by ORDERS_DATABASE_URL',
  ),
  PAYMENTS_DATABASE_URL: databaseUrl(PAYMENTS_DATABASE, 'payments database (created if missing)'),
  // As the administrator: the setup step makes the vhost and the users the workers log in as.
  AMQP_URL: brokerSetupSettings.AMQP_URL,
  AMQP_NAMESPACE: brokerSetupSettings.AMQP_NAMESPACE,
  ...brokerPasswordSettings,
  GATEWAY_PORT: integer(8080, 'gateway port', { min: 1, max: 65535 }),
  UI_PORT: integer(3000, 'port of the shop UI', { min: 1, max: 65535 }),
  // Each API's replicas take consecutive ports from its first: 3001, 3002, … and 3101, 3102, …
  ORDERS_API_PORT: integer(3001, 'port of orders-api-1; replica i listens on it + i − 1', { min: 1, max: 65535 }),
  PAYMENTS_API_PORT: integer(3101, 'port of payments-api-1; replica i listens on it + i − 1', {
    min: 1,
    max: 65535,
  }),
  HEALTH_PORT_BASE: integer(9100, 'relays get health ports base+1…, workers base+101…', { min: 1, max: 65000 }),
  CORS_ORIGIN: text(
    'http://localhost:3000',
    'one more origin the gateway lets call it, besides the UI port on a loopback or private network address',
  ),
  API_BASE_URL: text('', 'where the UI finds the gateway; empty: the host the page was opened at, on GATEWAY_PORT'),
  GATEWAY_ACCESS_LOG: text(
    'off',
    'file the gateway writes its JSON access log to (a line per request, naming the replica that served it), or off',
  ),
  // The gateway's budgets per client address (gateway/default.conf.template): the rate refills, the burst is
  // what may come at once. The UI's burst control sends up to 50 orders at once.
  GATEWAY_ORDER_RATE: integer(10, 'orders a client address may create per second, on average', RATE),
  GATEWAY_ORDER_BURST: integer(60, 'orders a client address may create at once', RATE),
  GATEWAY_WRITE_RATE: integer(10, 'other writes (wallets, top-ups) a client address may make per second', RATE),
  GATEWAY_WRITE_BURST: integer(30, 'other writes a client address may make at once', RATE),
  GATEWAY_READ_RATE: integer(50, 'reads a client address may make per second', RATE),
  GATEWAY_READ_BURST: integer(200, 'reads a client address may make at once', RATE),
  GATEWAY_CONNECTIONS_PER_CLIENT: integer(100, 'API requests a client address may have in flight at once', {
    min: 1,
    max: 65_535, // nginx's limit_conn takes no more
  }),
  LOG_LEVEL: commonSettings.LOG_LEVEL,
};

export type StackConfig = Config<typeof settings>;
