import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { sql } from 'kysely';
import { migrateToLatest, newId } from '@gozon/platform';
import { paymentsMigrations, topUp, type PaymentsDb } from '@gozon/payments';
import { createTestDatabase, type TestDatabase } from '@gozon/testkit';

// A payments-db that holds wallets from before 0006 (when the table was `account`)
// keeps every wallet, balance and ledger line when it is migrated up.

const RENAME = '0006_account_renamed_wallet';
const before = Object.fromEntries(Object.entries(paymentsMigrations).filter(([name]) => name < RENAME));

const rename = suite(`payments-db migrated up through ${RENAME}`);
let payments: TestDatabase<PaymentsDb>;
const ann = newId();
const bob = newId();

rename.before(async () => {
  payments = await createTestDatabase<PaymentsDb>('wallet_rename', before);
  // Written as the code before 0006 wrote them: by the old names, which PaymentsDb no longer has.
  await sql`insert into account (id, user_id, balance) values (${ann}, 'ann', 700), (${bob}, 'bob', 0)`.execute(
    payments.db,
  );
  await sql`
    insert into ledger_entry (account_id, kind, amount, order_id)
    values (${ann}, 'deposit', 1000, null), (${ann}, 'debit', 300, ${newId()}), (${bob}, 'deposit', 50, null), (${bob}, 'debit', 50, ${newId()})
  `.execute(payments.db);
});

/** The message of the error a statement the database must refuse fails with. */
async function refusal(statement: Promise<unknown>): Promise<string> {
  try {
    await statement;
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('the statement was not refused');
}

rename.after(async () => {
  await payments.drop();
});

rename('applies once, and every wallet keeps its id, balance and ledger', async () => {
  const names = Object.keys(paymentsMigrations);
  assert.equal(await migrateToLatest(payments.db, paymentsMigrations), names.slice(names.indexOf(RENAME)));
  assert.equal(await migrateToLatest(payments.db, paymentsMigrations), [], 'a second run applies nothing');

  const wallets = await payments.db
    .selectFrom('wallet')
    .select(['id', 'user_id', 'balance'])
    .orderBy('user_id')
    .execute();
  assert.equal(wallets, [
    { id: ann, user_id: 'ann', balance: 700n },
    { id: bob, user_id: 'bob', balance: 0n },
  ]);
  const ledger = await payments.db
    .selectFrom('ledger_entry')
    .select(['wallet_id', 'kind', 'amount'])
    .orderBy('id')
    .execute();
  assert.equal(
    ledger.map((l) => [l.wallet_id, l.kind, l.amount]),
    [
      [ann, 'deposit', 1000n],
      [ann, 'debit', 300n],
      [bob, 'deposit', 50n],
      [bob, 'debit', 50n],
    ],
  );
});

rename('the renamed wallet takes a top-up and keeps its guards', async () => {
  const result = await payments.db.transaction().execute((trx) => topUp(trx, ann, 5n));
  assert.ok('wallet' in result && result.wallet.balance === 705n);
  assert.match(
    await refusal(payments.db.updateTable('wallet').set({ balance: -1n }).where('id', '=', bob).execute()),
    'wallet_balance_check',
  );
  assert.match(
    await refusal(payments.db.insertInto('wallet').values({ id: newId(), user_id: 'ann' }).execute()),
    'wallet_user_id_key',
  );
  const orphan = payments.db
    .insertInto('ledger_entry')
    .values({ wallet_id: newId(), kind: 'deposit', amount: 1n, order_id: null })
    .execute();
  assert.match(await refusal(orphan), 'ledger_entry_wallet_id_fkey');
});

rename('no table, column, index or constraint is still named for account', async () => {
  const { rows } = await sql<{ name: string }>`
    select relname as name from pg_class where relnamespace = 'public'::regnamespace and relname like '%account%'
    union all select conname from pg_constraint where connamespace = 'public'::regnamespace and conname like '%account%'
    union all select column_name from information_schema.columns where table_schema = 'public' and column_name like '%account%'
  `.execute(payments.db);
  assert.equal(rows, []);
});

rename.run();
