import type { DatabaseRoles } from '@gozon/platform';

/**
 * Who may do what in the payments database (docs/ARCHITECTURE.md, "Least
 * privilege"): payments-api opens wallets and credits them, each credit with
 * its ledger entry; payments-worker records payments, debits wallets (their
 * balance only) with their ledger entries, keeps the inbox and relays the
 * outbox; the DLQ tool lists and retries set-aside outbox rows. Nobody may
 * change or delete a ledger entry. `FOR UPDATE` needs an UPDATE privilege,
 * RETURNING a SELECT one, on the columns it names.
 */
export const PAYMENTS_ROLES: DatabaseRoles = {
  owner: 'gozon_payments_owner',
  services: [
    {
      service: 'payments-api',
      role: 'gozon_payments_api',
      tables: {
        wallet: ['select', 'insert', 'update (balance, updated_at)'],
        ledger_entry: ['insert'],
        idempotency_key: ['select', 'insert', 'update', 'delete'],
      },
    },
    {
      service: 'payments-worker',
      role: 'gozon_payments_worker',
      tables: {
        payment: ['select', 'insert', 'update (outcome, reason)'],
        wallet: ['select', 'update (balance, updated_at)'],
        ledger_entry: ['insert'],
        outbox_message: ['select', 'insert', 'update', 'delete'],
        inbox_message: ['select', 'insert', 'update', 'delete'],
        inbox_attempt: ['select', 'insert', 'update', 'delete'],
      },
    },
    { service: 'dlq', role: 'gozon_dlq', tables: { outbox_message: ['select', 'update'] } },
  ],
};
