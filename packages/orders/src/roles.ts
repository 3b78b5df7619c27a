import type { DatabaseRoles } from '@gozon/platform';

/**
 * Who may do what in the orders database (docs/ARCHITECTURE.md, "Least
 * privilege"): orders-api places and reads orders (NEW: it may not set a
 * status), writing each one's outbox row (unsent, and only payment.requested:
 * orders migration 0006); orders-relay relays that outbox, keeps the inbox, and moves an order's
 * status (those columns only: never its amount or owner); the DLQ tool lists
 * and retries set-aside outbox rows. `FOR UPDATE` needs an UPDATE privilege,
 * RETURNING a SELECT one, on the columns it names.
 */
export const ORDERS_ROLES: DatabaseRoles = {
  owner: 'gozon_orders_owner',
  services: [
    {
      service: 'orders-api',
      role: 'gozon_orders_api',
      tables: {
        order: ['select', 'insert (id, user_id, amount, description, created_at, updated_at)'],
        outbox_message: ['insert (id, type, body, traceparent)', 'select (id)'],
        idempotency_key: ['select', 'insert', 'update', 'delete'],
      },
    },
    {
      service: 'orders-relay',
      role: 'gozon_orders_relay',
      tables: {
        order: ['select', 'update (status, cancel_reason, updated_at)'],
        outbox_message: ['select', 'update (sent_at, attempts, last_error, failed_at, lease_until)', 'delete'],
        inbox_message: ['select', 'insert', 'update', 'delete'],
        inbox_attempt: ['select', 'insert', 'update', 'delete'],
      },
      routines: [
        'receive_messages(uuid[], text[], uuid[])',
        'relay_outbox(uuid[], integer, integer)',
        'apply_payment_results(uuid[], text[], uuid[], uuid[], text[], text[], text[], text, integer)',
      ],
    },
    { service: 'dlq', role: 'gozon_dlq', tables: { outbox_message: ['select', 'update (failed_at, attempts)'] } },
  ],
};
