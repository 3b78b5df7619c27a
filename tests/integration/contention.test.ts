import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import amqp from 'amqplib';
import { PAYMENT_REQUESTED, encodeMessage } from '@gozon/contracts';
import { openWallet, topUp } from '@gozon/payments';
import { newId } from '@gozon/platform';
import { AMQP_URL, createFlow, waitFor, type Flow, type LaunchedProcess } from '@gozon/testkit';

// Found by the fault suite: two workers applying batches that debit the same
// wallets in different orders deadlocked, and each deadlock stalled both for a
// second. A batch now takes its wallet locks in one order.

const contention = suite('many payments for few wallets on two workers');

let flow: Flow;
let workers: LaunchedProcess[];

contention.before(async () => {
  flow = await createFlow('contention');
  workers = await Promise.all([flow.startPaymentsWorker(), flow.startPaymentsWorker()]);
});

contention.after(async () => {
  await flow.close();
});

contention('are all decided without a single deadlock', async () => {
  const users = Array.from({ length: 8 }, (_, i) => `hot-${i}`);
  for (const user of users) {
    const { wallet } = await openWallet(flow.payments.db, user);
    await flow.payments.db.transaction().execute((trx) => topUp(trx, wallet.id, 10_000_000n));
  }
  const connection = await amqp.connect(AMQP_URL);
  const channel = await connection.createConfirmChannel();
  const count = 2000;
  for (let i = 0; i < count; i += 1) {
    const request = {
      message_id: newId(),
      order_id: newId(),
      user_id: users[(i * 7919) % users.length]!,
      amount: 100n,
      occurred_at: new Date().toISOString(),
    };
    channel.publish(flow.broker.exchange, PAYMENT_REQUESTED, Buffer.from(encodeMessage(request)), {
      persistent: true,
      messageId: request.message_id,
    });
  }
  await channel.waitForConfirms();
  await connection.close();

  await waitFor(
    'every payment decided',
    async () => {
      const row = await flow.payments.db
        .selectFrom('payment')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('outcome', 'is not', null)
        .executeTakeFirstOrThrow();
      return Number(row.n) === count;
    },
    120_000,
  );
  const deadlocks = workers.map((w) => w.output().split('"code":"40P01"').length - 1);
  assert.equal(deadlocks, [0, 0], 'no deadlock retries on either worker');
});

contention.run();
