// What did not get through, and putting it back once its cause is fixed: the
// dead-letter queues of a namespace (see them, replay them on the exchange, or
// throw them away), and the outbox rows a relay set aside in either domain's
// database (see them, retry them).
//   npm run dlq -- list|replay|drop|list-outbox|retry-outbox [--queue Q] [--id ID ...] [--json]
// Reads AMQP_URL and AMQP_NAMESPACE (dead letters) or ORDERS_DATABASE_URL and
// PAYMENTS_DATABASE_URL (outbox rows) from the environment, like every service.
// Exit codes: 0 done, 1 broker, database or queue trouble (or a message not found / not replayed), 2 bad usage.
// An operator's tool: no service loads this package (test/unit/not-in-services.test.ts).
import { runDlq } from '../src/cli/main.ts';

process.exitCode = await runDlq(process.argv.slice(2));
