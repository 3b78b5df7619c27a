import type { DatabaseRoles } from '@gozon/platform';

/**
 * Who may do what in the payments database (docs/ARCHITECTURE.md, "Least
 * privilege"): payments-api opens wallets (empty) and credits them, only
 * through credit_wallet(), which writes the deposit with the credit;
 * payments-worker records payments, debits wallets (their balance only, and
 * only down: payments migration 0007) with debit entries, keeps the inbox and
 * relays the outbox; the DLQ tool lists and retries set-aside outbox rows.
 * Nobody may change or delete a ledger entry, or write an outbox row of a type
 * the other domain publishes. `FOR UPDATE` needs an UPDATE privilege,
 * RETURNING a SELECT one, on the columns it names.
 */
export const PAYMENTS_ROLES: DatabaseRoles = {
  owner: 'gozon_payments_owner',
  services: [
    {
      service: 'payments-api',
      role: 'gozon_payments_api',
      tables: {
        wallet: ['select', 'insert (id, user_id)'],
        idempotency_key: ['select', 'insert', 'update', 'delete'],
      },
      routines: ['credit_wallet(uuid, bigint, text)'],
    },
    {
      service: 'payments-worker',
      role: 'gozon_payments_worker',
      tables: {
        payment: ['select', 'insert', 'update (outcome, reason)'],
        wallet: ['select', 'update (balance, updated_at)'],
        ledger_entry: ['insert'],
        outbox_message: [
          'select',
          'insert (id, type, body, traceparent)',
          'update (sent_at, attempts, last_error, failed_at, lease_until)',
          'delete',
        ],
        inbox_message: ['select', 'insert', 'update', 'delete'],
        inbox_attempt: ['select', 'insert', 'update', 'delete'],
      },
      routines: [
        'receive_messages(uuid[], text[], uuid[])',
        'relay_outbox(uuid[], integer, integer)',
        'send_messages(uuid[], text[], text[], text[])',
        'pay_for_orders(uuid[], text[], uuid[], uuid[], text[], bigint[], text[], uuid[], text[], text[], text[])',
      ],
    },
    { service: 'dlq', role: 'gozon_dlq', tables: { outbox_message: ['select', 'update (failed_at, attempts)'] } },
  ],
};
