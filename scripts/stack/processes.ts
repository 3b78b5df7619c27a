// What the stack is made of: the one source of the commands and environment
// that the native runner starts, the tests start, and the containers run.

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
  amqpUrl: string;
  amqpNamespace: string;
  /** Port of orders-api-1; the others follow it (replicaPorts). */
  ordersApiPort: number;
  /** Port of payments-api-1; the others follow it. */
  paymentsApiPort: number;
  healthPortBase: number;
  logLevel: string;
}

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

/** The one-shot migrations, one per domain database, run before anything else starts. */
export function migrationProcesses(options: StackOptions): ProcessSpec[] {
  return MIGRATIONS.map((m) => ({
    name: m.name,
    command: [...m.command],
    env: {
      DATABASE_URL: m.database === 'orders' ? options.ordersDatabaseUrl : options.paymentsDatabaseUrl,
      LOG_LEVEL: options.logLevel,
    },
  }));
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
  const messaging = { AMQP_URL: options.amqpUrl, AMQP_NAMESPACE: options.amqpNamespace };
  const api = (name: keyof typeof DEPLOYABLES, databaseUrl: string, firstPort: number) =>
    replicaPorts(firstPort, options.apiReplicas).map((port, i) => ({
      name: `${name}-${i + 1}`,
      command: [...DEPLOYABLES[name]],
      env: { ...common, DATABASE_URL: databaseUrl, PORT: String(port) },
      healthPort: port,
    }));
  const processes: ProcessSpec[] = [
    ...api('orders-api', options.ordersApiDatabaseUrl ?? options.ordersDatabaseUrl, options.ordersApiPort),
    ...api('payments-api', options.paymentsDatabaseUrl, options.paymentsApiPort),
  ];
  for (let i = 1; i <= options.replicas; i += 1) {
    const relayPort = options.healthPortBase + i;
    const workerPort = options.healthPortBase + 100 + i;
    processes.push(
      {
        name: `orders-relay-${i}`,
        command: [...DEPLOYABLES['orders-relay']],
        env: { ...common, ...messaging, DATABASE_URL: options.ordersDatabaseUrl, HEALTH_PORT: String(relayPort) },
        healthPort: relayPort,
      },
      {
        name: `payments-worker-${i}`,
        command: [...DEPLOYABLES['payments-worker']],
        env: { ...common, ...messaging, DATABASE_URL: options.paymentsDatabaseUrl, HEALTH_PORT: String(workerPort) },
        healthPort: workerPort,
      },
    );
  }
  return processes;
}
