// What the stack is made of: the one source of the commands and environment
// that the native runner starts, the tests start, and the containers run.
import { BROKER_USERS, amqpUrlAs, brokerPasswordVariable } from '@gozon/messaging';
import { ORDERS_ROLES } from '@gozon/orders';
import { PAYMENTS_ROLES } from '@gozon/payments';
import { roleOf, urlAsRole, type DatabaseRoles } from '@gozon/platform';

export interface ProcessSpec {
  name: string;
  command: string[];
  env: Record<string, string>;
  /** Where /health/ready answers, for processes that serve one. */
  healthPort?: number;
}

export interface StackOptions {
  /** Replicas of each worker. */
  replicas: number;
  /** Replicas of each API. */
  apiReplicas: number;
  ordersDatabaseUrl: string;
  /** orders-api's own way to the orders database (through a fault proxy, in the fault suite); ordersDatabaseUrl when absent. */
  ordersApiDatabaseUrl?: string | undefined;
  paymentsDatabaseUrl: string;
  /** An administrator's AMQP URL, naming the vhost: the setup step's; each service logs in as its own user there. */
  amqpUrl: string;
  amqpNamespace: string;
  /** The broker users' passwords, by variable (brokerPasswordSettings). */
  brokerPasswords: Readonly<Record<string, string>>;
  /** Port of orders-api-1; the others follow it (replicaPorts). */
  ordersApiPort: number;
  /** Port of payments-api-1; the others follow it. */
  paymentsApiPort: number;
  healthPortBase: number;
  logLevel: string;
}

export const BROKER_SETUP = {
  name: 'broker-setup',
  command: ['node', 'packages/messaging/bin/setup-broker.ts'],
} as const;

export const MIGRATIONS = [
  { name: 'orders-migrate', command: ['node', 'packages/orders/bin/migrate.ts'], database: 'orders' },
  { name: 'payments-migrate', command: ['node', 'packages/payments/bin/migrate.ts'], database: 'payments' },
] as const;

export const DEPLOYABLES = {
  'orders-api': ['node', 'orders-api/src/main.ts'],
  'payments-api': ['node', 'payments-api/src/main.ts'],
  'orders-relay': ['node', 'orders-relay/src/main.ts'],
  'payments-worker': ['node', 'payments-worker/src/main.ts'],
} as const;

/**
 * The one-shot steps run before anything else starts: the broker's vhost, users
 * and permissions, then the migrations, one per domain database, each as the
 * administrator its URL names.
 */
export function setupProcesses(options: StackOptions): ProcessSpec[] {
  return [
    {
      name: BROKER_SETUP.name,
      command: [...BROKER_SETUP.command],
      env: {
        AMQP_URL: options.amqpUrl,
        AMQP_NAMESPACE: options.amqpNamespace,
        ...options.brokerPasswords,
        LOG_LEVEL: options.logLevel,
      },
    },
    ...MIGRATIONS.map((m) => ({
      name: m.name,
      command: [...m.command],
      env: {
        DATABASE_URL: m.database === 'orders' ? options.ordersDatabaseUrl : options.paymentsDatabaseUrl,
        LOG_LEVEL: options.logLevel,
      },
    })),
  ];
}

/** `url` as `service` logs in to its database: with its own role (packages/<domain>/src/roles.ts). */
function databaseUrlOf(service: string, roles: DatabaseRoles, url: string): string {
  return urlAsRole(url, roleOf(roles, service));
}

/** The administrator's AMQP URL as `service` logs in with it: its own user and password. */
function amqpUrlOf(service: 'orders-relay' | 'payments-worker', options: StackOptions): string {
  return amqpUrlAs(options.amqpUrl, BROKER_USERS[service], options.brokerPasswords[brokerPasswordVariable(service)]!);
}

/** The ports of an API's `replicas` replicas: `first`, first + 1, … */
export function replicaPorts(first: number, replicas: number): number[] {
  return Array.from({ length: replicas }, (_, i) => first + i);
}

/**
 * The long-running processes: `apiReplicas` of each API, each on a port of its
 * own (replicaPorts, where its /health is too), then `replicas` of each worker,
 * each with a health port of its own (base + i for relays, base + 100 + i for
 * workers). Replicas are named `<deployable>-<i>`, from 1.
 */
export function serviceProcesses(options: StackOptions): ProcessSpec[] {
  const common = { LOG_LEVEL: options.logLevel };
  const messaging = (service: 'orders-relay' | 'payments-worker') => ({
    AMQP_URL: amqpUrlOf(service, options),
    AMQP_NAMESPACE: options.amqpNamespace,
  });
  const api = (name: keyof typeof DEPLOYABLES, databaseUrl: string, firstPort: number) =>
    replicaPorts(firstPort, options.apiReplicas).map((port, i) => ({
      name: `${name}-${i + 1}`,
      command: [...DEPLOYABLES[name]],
      env: { ...common, DATABASE_URL: databaseUrl, PORT: String(port) },
      healthPort: port,
    }));
  const ordersApiUrl = options.ordersApiDatabaseUrl ?? options.ordersDatabaseUrl;
  const processes: ProcessSpec[] = [
    ...api('orders-api', databaseUrlOf('orders-api', ORDERS_ROLES, ordersApiUrl), options.ordersApiPort),
    ...api(
      'payments-api',
      databaseUrlOf('payments-api', PAYMENTS_ROLES, options.paymentsDatabaseUrl),
      options.paymentsApiPort,
    ),
  ];
  for (let i = 1; i <= options.replicas; i += 1) {
    const relayPort = options.healthPortBase + i;
    const workerPort = options.healthPortBase + 100 + i;
    processes.push(
      {
        name: `orders-relay-${i}`,
        command: [...DEPLOYABLES['orders-relay']],
        env: {
          ...common,
          ...messaging('orders-relay'),
          DATABASE_URL: databaseUrlOf('orders-relay', ORDERS_ROLES, options.ordersDatabaseUrl),
          HEALTH_PORT: String(relayPort),
        },
        healthPort: relayPort,
      },
      {
        name: `payments-worker-${i}`,
        command: [...DEPLOYABLES['payments-worker']],
        env: {
          ...common,
          ...messaging('payments-worker'),
          DATABASE_URL: databaseUrlOf('payments-worker', PAYMENTS_ROLES, options.paymentsDatabaseUrl),
          HEALTH_PORT: String(workerPort),
        },
        healthPort: workerPort,
      },
    );
  }
  return processes;
}
