// Whose fault is a failure? An infrastructure condition (a database that is
// restarting, read-only, out of disk or memory, a statement cancelled by its
// timeout, a broker connection that dropped) is never the fault of the request
// or message that met it: the same operation succeeds once the condition
// passes, so it is retried (by the consumer, for as long as it takes) or
// answered 503 with Retry-After (by the APIs). Everything else is a bug or bad
// data, and retrying only hides it.

// SQLSTATE classes that are conditions of the server, never of the statement:
// https://www.postgresql.org/docs/15/errcodes-appendix.html
const TRANSIENT_SQLSTATE_CLASSES = new Set([
  '08', // connection exception
  '53', // insufficient resources: disk_full 53100, out_of_memory 53200, too_many_connections 53300
  '58', // system error: I/O error 58030
]);

const TRANSIENT_SQLSTATES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '40003', // statement_completion_unknown
  '55P03', // lock_not_available (lock_timeout)
  '57014', // query_canceled (statement_timeout)
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '57P05', // idle_session_timeout
  '25006', // read_only_sql_transaction: a standby, a failover in progress, default_transaction_read_only
  '25P03', // idle_in_transaction_session_timeout
  '25P04', // transaction_timeout (PostgreSQL 17)
  '26000', // invalid_sql_statement_name: a prepared statement its connection lost (BoundedClient, db.ts, cuts it)
  // undefined_function: the database lacks a function this code calls, its migration not run yet (an inbox
  // function, docs/ARCHITECTURE.md "One call per inbox batch"): no message's fault, and gone once it runs.
  '42883',
]);

const TRANSIENT_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

// node-postgres and amqplib say these in words only.
const TRANSIENT_MESSAGES = [
  'Connection terminated',
  'Client has encountered a connection error',
  'timeout exceeded when trying to connect',
  'Query read timeout',
  'Channel closed',
  'channel closed',
  'Connection closed',
  'Connection closing',
  'Socket closed abruptly',
  // SQLSTATE 0A000 in general is a feature not supported; this one is a prepared statement
  // a migration outdated, and its connection is cut for a fresh one (BoundedClient, db.ts).
  'cached plan must not change result type',
];

/**
 * True when `error` is a condition of PostgreSQL, RabbitMQ or the network
 * rather than of the operation: a SQLSTATE of class 08, 53 or 58, or one of the
 * codes above (statement and lock timeouts, read-only, shutdowns, deadlocks); a
 * socket error; a closed AMQP channel or connection; or a bounded wait that ran
 * out (an error named TimeoutError, as p-timeout and AbortSignal.timeout throw).
 */
export function isTransientError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'TimeoutError') return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (
      TRANSIENT_SQLSTATES.has(code) ||
      TRANSIENT_SQLSTATE_CLASSES.has(code.slice(0, 2)) ||
      TRANSIENT_NODE_CODES.has(code)
    )
      return true;
  }
  if (TRANSIENT_MESSAGES.some((m) => error.message.includes(m))) return true;
  return error.cause !== undefined && error.cause !== error && isTransientError(error.cause);
}
