import type { Hono } from 'hono';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openWallet, paymentsMigrations, topUp, type PaymentsDb } from '@gozon/payments';
import { MAX_KOPECKS } from '@gozon/money';
import { createLogger } from '@gozon/platform';
import { countStatements, createTestDatabase, expectError, type TestDatabase } from '@gozon/testkit';
import { createApp } from '../../src/app.ts';

// payments-api on a real database: what opening and topping up a wallet leave
// behind, and that reads find it. The answers that need no data are unit-tested.

const stored = suite('payments-api: what is stored and found');
let database: TestDatabase<PaymentsDb>;

const UNKNOWN_BILL = '0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a7b';

function setup() {
  const { db, statements } = countStatements(database.db);
  return { app: createApp({ db, logger: createLogger('test', 'error') }), statements };
}

async function post(app: Hono, path: string, body?: string, key?: string): Promise<Response> {
  return app.request(path, {
    method: 'POST',
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(key === undefined ? {} : { 'idempotency-key': key }),
    },
    body,
  });
}

/** A wallet holding `kopecks`, put there as a top-up would. */
async function walletWith(userId: string, kopecks: bigint) {
  const { wallet } = await openWallet(database.db, userId);
  if (kopecks > 0n) await database.db.transaction().execute((trx) => topUp(trx, wallet.id, kopecks));
  return wallet.id;
}

async function storedWallet(billId: string) {
  const wallet = await database.db.selectFrom('wallet').select('balance').where('id', '=', billId).executeTakeFirst();
  const ledger = await database.db
    .selectFrom('ledger_entry')
    .select(['kind', 'amount'])
    .where('wallet_id', '=', billId)
    .orderBy('id')
    .execute();
  return { balance: wallet?.balance, ledger };
}

async function ledgerSize(): Promise<number> {
  return (await database.db.selectFrom('ledger_entry').select('id').execute()).length;
}

stored.before(async () => {
  database = await createTestDatabase<PaymentsDb>('payments_api', paymentsMigrations);
});

stored.after(async () => {
  await database.drop();
});

stored('a known wallet answers its balance in rubles, looked up in upper case too', async () => {
  const billId = await walletWith('reader', 14990n);
  const { app } = setup();
  for (const id of [billId, billId.toUpperCase()]) {
    const response = await app.request(`/payments/balance/${id}`);
    assert.is(response.status, 200, id);
    assert.equal(await response.json(), { bill_id: billId, user_id: 'reader', balance: 149.9 }, id);
  }
});

stored(
  'a new wallet is 201 with a zero balance, in one statement; opening it again is 200 with the wallet that exists',
  async () => {
    const { app, statements } = setup();
    const opened = await post(app, '/payments/create/opener');
    assert.is(opened.status, 201);
    const wallet = (await opened.json()) as { bill_id: string };
    assert.equal(wallet, { bill_id: wallet.bill_id, user_id: 'opener', balance: 0 });
    assert.is(statements(), 1);
    assert.equal(await storedWallet(wallet.bill_id), { balance: 0n, ledger: [] });

    await database.db.transaction().execute((trx) => topUp(trx, wallet.bill_id, 500n));
    const again = await post(app, '/payments/create/opener');
    assert.is(again.status, 200);
    assert.equal(await again.json(), { bill_id: wallet.bill_id, user_id: 'opener', balance: 5 });
    assert.is(statements(), 1 + 2, 'the insert that found the user’s wallet there, then its read');
  },
);

stored('wallets opened at once for one user are one wallet', async () => {
  const { app } = setup();
  const responses = await Promise.all(Array.from({ length: 8 }, () => post(app, '/payments/create/racer')));
  assert.equal(responses.map((r) => r.status).sort(), [200, 200, 200, 200, 200, 200, 200, 201]);
  const bills = new Set(
    await Promise.all(responses.map(async (r) => ((await r.json()) as { bill_id: string }).bill_id)),
  );
  assert.is(bills.size, 1, 'all answered with the same wallet');
  assert.is(
    (await database.db.selectFrom('wallet').select('id').where('user_id', '=', 'racer').execute()).length,
    1,
    'one wallet stored',
  );
});

stored('a top-up credits exact kopecks, writes a deposit, and answers the new balance', async () => {
  const billId = await walletWith('topper', 10000n);
  const { app, statements } = setup();
  const response = await post(app, `/payments/add/${billId}`, '{"amount":149.90}');
  assert.is(response.status, 200);
  assert.equal(await response.json(), { bill_id: billId, user_id: 'topper', balance: 249.9 });
  assert.is(statements(), 1, 'the credit and its ledger entry, in one statement (credit_wallet)');
  assert.equal(await storedWallet(billId), {
    balance: 24990n,
    ledger: [
      { kind: 'deposit', amount: 10000n },
      { kind: 'deposit', amount: 14990n },
    ],
  });
});

stored('a top-up of an unknown bill id is 404 ACCOUNT_NOT_FOUND, and no ledger entry is written', async () => {
  const before = await ledgerSize();
  const { app } = setup();
  const message = await expectError(
    await post(app, `/payments/add/${UNKNOWN_BILL}`, '{"amount":100}'),
    404,
    'ACCOUNT_NOT_FOUND',
  );
  assert.match(message, UNKNOWN_BILL);
  assert.is(await ledgerSize(), before);
});

stored('a top-up past the most a wallet may hold is 409 BALANCE_LIMIT, and no ledger entry is written', async () => {
  const billId = await walletWith('full', MAX_KOPECKS);
  const { app } = setup();
  const message = await expectError(
    await post(app, `/payments/add/${billId}`, '{"amount":0.01}'),
    409,
    'BALANCE_LIMIT',
  );
  assert.match(message, /at most 1000000000000\.00/);
  assert.equal(await storedWallet(billId), {
    balance: MAX_KOPECKS,
    ledger: [{ kind: 'deposit', amount: MAX_KOPECKS }],
  });
});

stored('?user_id= of the owner: the balance and the top-up answer as without it', async () => {
  const billId = await walletWith('owner', 10000n);
  const { app } = setup();
  const read = await app.request(`/payments/balance/${billId}?user_id=owner`);
  assert.is(read.status, 200);
  assert.equal(await read.json(), { bill_id: billId, user_id: 'owner', balance: 100 });
  const topped = await post(app, `/payments/add/${billId.toUpperCase()}?user_id=owner`, '{"amount":5}');
  assert.is(topped.status, 200);
  assert.equal(await topped.json(), { bill_id: billId, user_id: 'owner', balance: 105 });
  assert.equal(await storedWallet(billId), {
    balance: 10500n,
    ledger: [
      { kind: 'deposit', amount: 10000n },
      { kind: 'deposit', amount: 500n },
    ],
  });
});

stored(
  '?user_id= of another user: 404 ACCOUNT_NOT_FOUND worded as for an unknown wallet, and nothing is credited',
  async () => {
    const billId = await walletWith('victim', 10000n);
    const { app } = setup();
    const unknown = await app.request(`/payments/balance/${UNKNOWN_BILL}`);
    const unknownMessage = await expectError(unknown, 404, 'ACCOUNT_NOT_FOUND');
    for (const other of ['mallory', 'Victim', 'victim2']) {
      const read = await expectError(
        await app.request(`/payments/balance/${billId}?user_id=${other}`),
        404,
        'ACCOUNT_NOT_FOUND',
      );
      assert.is(
        read,
        unknownMessage.replace(UNKNOWN_BILL, billId),
        'the same words as for a wallet that does not exist',
      );
      const top = await expectError(
        await post(app, `/payments/add/${billId}?user_id=${other}`, '{"amount":5}'),
        404,
        'ACCOUNT_NOT_FOUND',
      );
      assert.is(top, read);
    }
    assert.equal(await storedWallet(billId), { balance: 10000n, ledger: [{ kind: 'deposit', amount: 10000n }] });
  },
);

stored(
  '?user_id= with an Idempotency-Key: a refused stranger stores nothing, and a retry naming another user is 422',
  async () => {
    const billId = await walletWith('keyed', 0n);
    const { app } = setup();
    const path = `/payments/add/${billId}`;
    await expectError(await post(app, `${path}?user_id=stranger`, '{"amount":5}', 'keyed-1'), 404, 'ACCOUNT_NOT_FOUND');
    const first = await post(app, `${path}?user_id=keyed`, '{"amount":5}', 'keyed-1');
    assert.is(first.status, 200, 'the refusal left the key free');
    assert.is(first.headers.get('idempotent-replayed'), null);

    const replayed = await post(app, `${path}?user_id=keyed`, '{"amount":5}', 'keyed-1');
    assert.is(replayed.headers.get('idempotent-replayed'), 'true', 'the same request is replayed');
    for (const query of ['?user_id=stranger', '']) {
      await expectError(await post(app, `${path}${query}`, '{"amount":5}', 'keyed-1'), 422, 'IDEMPOTENCY_KEY_REUSED');
    }
    assert.equal(await storedWallet(billId), { balance: 500n, ledger: [{ kind: 'deposit', amount: 500n }] });
  },
);

stored.run();
