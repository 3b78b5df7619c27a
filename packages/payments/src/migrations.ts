import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import { createMessagingTables, indexInboxByReceipt, recordMessagingFailures } from '@gozon/messaging';
import { createIdempotencyTable } from '@gozon/http';

// Frozen in time and listed statically: a migration never imports application code.
export const paymentsMigrations: Record<string, Migration> = {
  '0001_messaging': createMessagingTables,
  '0002_wallet': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('account')
        .addColumn('id', 'uuid', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().unique())
        .addColumn('balance', 'bigint', (c) =>
          c
            .notNull()
            .defaultTo(0)
            .check(sql`balance >= 0 and balance <= 100000000000000`),
        )
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await db.schema
        .createTable('ledger_entry')
        .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
        .addColumn('account_id', 'uuid', (c) => c.notNull().references('account.id'))
        .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('deposit', 'debit')`))
        .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount > 0`))
        .addColumn('order_id', 'uuid')
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addCheckConstraint('ledger_entry_debit_has_order', sql`(kind = 'debit') = (order_id is not null)`)
        .execute();
      await db.schema
        .createIndex('ledger_entry_one_debit_per_order')
        .on('ledger_entry')
        .column('order_id')
        .unique()
        .where(sql.ref('kind'), '=', 'debit')
        .execute();
      await db.schema.createIndex('ledger_entry_account').on('ledger_entry').column('account_id').execute();
      await db.schema
        .createTable('payment')
        .addColumn('order_id', 'uuid', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('amount', 'bigint', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.check(sql`outcome in ('SUCCEEDED', 'FAILED')`))
        .addColumn('reason', 'text', (c) => c.check(sql`reason in ('NO_ACCOUNT', 'INSUFFICIENT_FUNDS')`))
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
    },
  },
  '0003_idempotency_key': createIdempotencyTable,
  '0004_inbox_received_at': indexInboxByReceipt,
  '0005_messaging_failures': recordMessagingFailures,
  // One word for a user's store of money (docs/glossary.md): renamed, never
  // recreated, so every wallet keeps its id, balance and ledger. The new names are
  // those a CREATE of `wallet` would have given. The API keeps bill_id,
  // ACCOUNT_NOT_FOUND and NO_ACCOUNT, so payment.reason's values stay.
  '0006_account_renamed_wallet': {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('account').renameTo('wallet').execute();
      for (const suffix of ['pkey', 'user_id_key', 'balance_check']) {
        await db.schema.alterTable('wallet').renameConstraint(`account_${suffix}`, `wallet_${suffix}`).execute();
      }
      await db.schema.alterTable('ledger_entry').renameColumn('account_id', 'wallet_id').execute();
      await db.schema
        .alterTable('ledger_entry')
        .renameConstraint('ledger_entry_account_id_fkey', 'ledger_entry_wallet_id_fkey')
        .execute();
      await sql`alter index ledger_entry_account rename to ledger_entry_wallet`.execute(db);
    },
  },
  // Least privilege (docs/ARCHITECTURE.md): money moves only the two ways it may. A credit is a
  // top-up, made only by credit_wallet(), which runs as the owner (SECURITY DEFINER) and writes
  // the deposit with it: payments-api may call it and nothing more of the wallets' balances or the
  // ledger. Any other role may only lower a balance (payments-worker's debits) and write debits.
  // The triggers compare with the table's owner, not a role's name, so they hold whatever the roles are called.
  '0007_money_moves_two_ways': {
    async up(db: Kysely<any>) {
      await sql`
        create function credit_wallet(target uuid, credit bigint, owner text)
        returns setof wallet language sql security definer set search_path = pg_catalog, public as $$
          with credited as (
            update wallet set balance = balance + credit, updated_at = now()
            where id = target and (owner is null or user_id = owner) and credit > 0
              and balance <= 100000000000000 - credit
            returning *
          ), entered as (
            insert into ledger_entry (wallet_id, kind, amount, order_id)
            select id, 'deposit', credit, null from credited
          )
          select * from credited
        $$`.execute(db);
      await sql`revoke all on function credit_wallet(uuid, bigint, text) from public`.execute(db);
      await sql`
        create function refuse_unless_owner() returns trigger language plpgsql as $$
        begin
          if current_user <> (select pg_get_userbyid(relowner) from pg_class where oid = tg_relid) then
            raise exception '% may not %', current_user, tg_argv[0] using errcode = 'insufficient_privilege';
          end if;
          return new;
        end $$`.execute(db);
      await sql`
        create trigger wallet_credited_only_by_top_up before update of balance on wallet
        for each row when (new.balance > old.balance)
        execute function refuse_unless_owner('credit a wallet but through credit_wallet()')`.execute(db);
      await sql`
        create trigger ledger_deposit_only_by_top_up before insert on ledger_entry
        for each row when (new.kind = 'deposit')
        execute function refuse_unless_owner('write a deposit but through credit_wallet()')`.execute(db);
      // This outbox carries payment results and nothing else.
      await sql`alter table outbox_message add constraint outbox_message_payments_type check (type in ('payment.succeeded', 'payment.failed'))`.execute(
        db,
      );
    },
  },
};
