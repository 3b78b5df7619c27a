import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import {
  createInboxFunctions,
  createMessagingTables,
  indexInboxByReceipt,
  leaseOutbox,
  recordMessagingFailures,
} from '@gozon/messaging';
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
  '0008_inbox_functions': createInboxFunctions,
  // The inbox transaction of payment requests in one call (docs/ARCHITECTURE.md, "One call per
  // inbox batch"): each order paid once, from the requests new to the inbox. Each order's payment
  // slot is taken first (in order_id order); the wallets are locked (FOR UPDATE, in user_id order,
  // so two batches never wait on each other in a circle); the requests are decided in delivery
  // order from the locked balances: one whose order has no free slot (decided before, by any
  // message, or earlier in this batch) is ALREADY_DECIDED and changes nothing; one of a user
  // without a wallet FAILS with NO_ACCOUNT; one the running balance cannot cover FAILS with
  // INSUFFICIENT_FUNDS; the others SUCCEED. Then each wallet is debited by the sum of its debits,
  // a ledger entry written per debit, the outcome put on each slot and a result message sent per
  // decided order: the body of its outcome among the three the caller encoded (the contract's
  // encoding stays in one place), under result_ids. CHECK (balance >= 0) and the ledger's one debit
  // per order stay the last guards: either fails the whole call. Answers a row per message new to
  // the inbox, in delivery order: its outcome and reason.
  '0009_pay_for_orders': {
    async up(db: Kysely<any>) {
      await sql`
        create function pay_for_orders(
          message_ids uuid[], message_types text[], settled uuid[],
          order_ids uuid[], user_ids text[], amounts bigint[], traceparents text[],
          result_ids uuid[], succeeded_bodies text[], no_account_bodies text[], insufficient_funds_bodies text[]
        ) returns table (message_id uuid, outcome text, reason text)
        language plpgsql set enable_seqscan = off set plan_cache_mode = force_generic_plan as $$
        #variable_conflict use_column
        declare
          fresh uuid[] := array(select receive_messages(message_ids, message_types, settled));
          free uuid[];
          wallet_ids uuid[];
          wallet_users text[];
          balances bigint[];
          request record;
          w integer;
          decision text;
          why text;
          decided_ids uuid[] := '{}';
          decided_outcomes text[] := '{}';
          decided_reasons text[] := '{}';
          debit_wallets uuid[] := '{}';
          debit_orders uuid[] := '{}';
          debit_amounts bigint[] := '{}';
          sent_ids uuid[] := '{}';
          sent_types text[] := '{}';
          sent_bodies text[] := '{}';
          sent_traceparents text[] := '{}';
          slot_orders uuid[] := '{}';
          slot_outcomes text[] := '{}';
          slot_reasons text[] := '{}';
        begin
          with requested as (
            select r.order_id, r.user_id, r.amount
            from unnest(message_ids, order_ids, user_ids, amounts) with ordinality
              as r (message_id, order_id, user_id, amount, position)
            where r.message_id = any(fresh)
            order by r.order_id, r.position
          ), taken as (
            insert into payment (order_id, user_id, amount) select * from requested
            on conflict (order_id) do nothing
            returning payment.order_id
          )
          select coalesce(array_agg(taken.order_id), '{}') into free from taken;

          select array_agg(locked.id), array_agg(locked.user_id), array_agg(locked.balance)
          into wallet_ids, wallet_users, balances
          from (
            select wallet.id, wallet.user_id, wallet.balance from wallet
            where wallet.user_id = any(array(
              select r.user_id from unnest(message_ids, user_ids) as r (message_id, user_id) where r.message_id = any(fresh)))
            order by wallet.user_id
            for update
          ) as locked;

          for request in
            select r.* from unnest(
              message_ids, order_ids, user_ids, amounts, traceparents,
              result_ids, succeeded_bodies, no_account_bodies, insufficient_funds_bodies
            ) with ordinality as r (
              message_id, order_id, user_id, amount, traceparent,
              result_id, succeeded_body, no_account_body, insufficient_funds_body, position
            )
            where r.message_id = any(fresh)
            order by r.position
          loop
            why := null;
            if not (request.order_id = any(free)) then
              decision := 'ALREADY_DECIDED';
            else
              free := array_remove(free, request.order_id);
              w := array_position(wallet_users, request.user_id);
              if w is null then
                decision := 'FAILED';
                why := 'NO_ACCOUNT';
              elsif balances[w] < request.amount then
                decision := 'FAILED';
                why := 'INSUFFICIENT_FUNDS';
              else
                decision := 'SUCCEEDED';
                balances[w] := balances[w] - request.amount;
                debit_wallets := debit_wallets || wallet_ids[w];
                debit_orders := debit_orders || request.order_id;
                debit_amounts := debit_amounts || request.amount;
              end if;
              slot_orders := slot_orders || request.order_id;
              slot_outcomes := slot_outcomes || decision;
              slot_reasons := slot_reasons || why;
              sent_ids := sent_ids || request.result_id;
              sent_types := sent_types || case decision when 'SUCCEEDED' then 'payment.succeeded' else 'payment.failed' end;
              sent_bodies := sent_bodies || case coalesce(why, decision)
                when 'SUCCEEDED' then request.succeeded_body
                when 'NO_ACCOUNT' then request.no_account_body
                else request.insufficient_funds_body end;
              sent_traceparents := sent_traceparents || request.traceparent;
            end if;
            decided_ids := decided_ids || request.message_id;
            decided_outcomes := decided_outcomes || decision;
            decided_reasons := decided_reasons || why;
          end loop;

          if cardinality(debit_wallets) > 0 then
            update wallet set balance = wallet.balance - debit.amount, updated_at = now()
            from (
              select d.wallet_id, sum(d.amount)::bigint as amount
              from unnest(debit_wallets, debit_amounts) as d (wallet_id, amount)
              group by d.wallet_id
            ) as debit
            where wallet.id = debit.wallet_id;
            insert into ledger_entry (wallet_id, kind, amount, order_id)
            select d.wallet_id, 'debit', d.amount, d.order_id
            from unnest(debit_wallets, debit_amounts, debit_orders) as d (wallet_id, amount, order_id);
          end if;
          if cardinality(slot_orders) > 0 then
            update payment set outcome = slot.outcome, reason = slot.reason
            from unnest(slot_orders, slot_outcomes, slot_reasons) as slot (order_id, outcome, reason)
            where payment.order_id = slot.order_id;
            perform send_messages(sent_ids, sent_types, sent_bodies, sent_traceparents);
          end if;
          return query select * from unnest(decided_ids, decided_outcomes, decided_reasons);
        end $$`.execute(db);
      await sql`revoke all on function pay_for_orders(uuid[], text[], uuid[], uuid[], text[], bigint[], text[], uuid[], text[], text[], text[]) from public`.execute(
        db,
      );
    },
  },
  '0010_outbox_lease': leaseOutbox,
};
