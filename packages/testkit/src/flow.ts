import { ordersMigrations, type OrdersDb } from '@gozon/orders';
import { paymentsMigrations, type PaymentsDb } from '@gozon/payments';
import { AMQP_URL, createTestBroker } from './broker.ts';
import { createTestDatabase } from './databases.ts';
import { HEALTH_PORT_VARIABLES, launch, type LaunchedProcess, type LaunchUntil } from './processes.ts';

/**
 * Both domains on their own databases and queues, with the real relay and
 * worker mains running as processes, as they run in the stack.
 */
export async function createFlow(label: string) {
  const orders = await createTestDatabase<OrdersDb>(`${label}_orders`, ordersMigrations);
  const payments = await createTestDatabase<PaymentsDb>(`${label}_payments`, paymentsMigrations);
  const broker = await createTestBroker(label);
  const processes = new Set<LaunchedProcess>();

  const start = async (
    deployable: 'orders-relay' | 'payments-worker',
    url: string,
    extra: Record<string, string>,
    until: LaunchUntil,
  ) => {
    const started = await launch({
      name: deployable,
      command: [process.execPath, `${deployable}/src/main.ts`],
      env: { DATABASE_URL: url, AMQP_URL, AMQP_NAMESPACE: broker.namespace, OUTBOX_POLL_INTERVAL_MS: '200', ...extra },
      healthPortVariable: HEALTH_PORT_VARIABLES[deployable],
      until,
    });
    processes.add(started);
    void started.exited.then(() => processes.delete(started));
    return started;
  };

  return {
    orders,
    payments,
    broker,
    /** Resolves once it is `until` (ready: connected to its database and the broker). */
    startOrdersRelay: (extra: Record<string, string> = {}, until: LaunchUntil = 'ready') =>
      start('orders-relay', orders.url, extra, until),
    startPaymentsWorker: (extra: Record<string, string> = {}, until: LaunchUntil = 'ready') =>
      start('payments-worker', payments.url, extra, until),
    /** Stops every process still running (SIGTERM), then drops the databases and queues; resolves with how each exited. */
    async close() {
      const codes = await Promise.all([...processes].map((p) => p.stop()));
      await broker.close();
      await orders.drop();
      await payments.drop();
      return codes;
    },
  };
}

export type Flow = Awaited<ReturnType<typeof createFlow>>;
