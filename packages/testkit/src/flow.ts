import { ordersMigrations, type OrdersDb } from '@gozon/orders';
import { paymentsMigrations, type PaymentsDb } from '@gozon/payments';
import { AMQP_URL, createTestBroker } from './broker.ts';
import { createTestDatabase } from './databases.ts';
import { startService, type ServiceProcess } from './processes.ts';

/**
 * Both domains on their own databases and queues, with the real relay and
 * worker mains running as processes, as they run in the stack.
 */
export async function createFlow(label: string) {
  const orders = await createTestDatabase<OrdersDb>(`${label}_orders`, ordersMigrations);
  const payments = await createTestDatabase<PaymentsDb>(`${label}_payments`, paymentsMigrations);
  const broker = await createTestBroker(label);
  const processes = new Set<ServiceProcess>();

  const env = (url: string, extra: Record<string, string>) => ({
    DATABASE_URL: url,
    AMQP_URL,
    AMQP_NAMESPACE: broker.namespace,
    OUTBOX_POLL_INTERVAL_MS: '200',
    ...extra,
  });

  const track = (service: ServiceProcess) => {
    processes.add(service);
    void service.exited.then(() => processes.delete(service));
    return service;
  };

  return {
    orders,
    payments,
    broker,
    startOrdersRelay: async (extra: Record<string, string> = {}, readyEvent: string | null = 'worker.started') =>
      track(await startService('orders-relay', 'orders-relay/src/main.ts', env(orders.url, extra), readyEvent)),
    startPaymentsWorker: async (extra: Record<string, string> = {}) =>
      track(await startService('payments-worker', 'payments-worker/src/main.ts', env(payments.url, extra), 'worker.started')),
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
