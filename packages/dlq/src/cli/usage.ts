import { dlqAmqpSettings } from '../dead-letter-queues.ts';
import { outboxDatabaseSettings, SET_ASIDE_PER_RUN } from '../set-aside-outbox.ts';

/** What `npm run dlq -- --help` prints, and bad usage prints after its error. */
export const USAGE = `usage: npm run dlq -- <command> [--queue <dlq>] [--id <message id> ...] [--json]

dead letters, in RabbitMQ:
  list          show the dead letters; every message stays in its queue
  replay        publish them again to the exchange with their original routing key,
                properties and message id (without the dead-lettering headers);
                each leaves its DLQ only after the broker has confirmed the new copy
  drop          delete them for good

outbox rows a relay set aside, in the orders and payments databases (their publish
failed on their own account, e.g. unroutable, OUTBOX_MAX_ATTEMPTS times):
  list-outbox   show them with their last error; nothing changes
  retry-outbox  put them back in line with a fresh count: a relay publishes them
                within its poll interval (and sets them aside again if they fail again)

options:
  --queue <dlq>   only this dead-letter queue (its full name, as list shows it)
  --id <id>       only the message with this message id (an outbox row's id is
                  its message id); repeat for more
  --json          one JSON object per line instead of a table
  -h, --help      this text

Without --queue or --id a command applies to every message of every DLQ, or to
every set-aside row of both outboxes (the oldest ${SET_ASIDE_PER_RUN} of each per run).
With --json, run \`npm run -s dlq -- ...\` so that npm's own lines stay out of stdout.
Environment: AMQP_URL (default ${dlqAmqpSettings.AMQP_URL.default}), AMQP_NAMESPACE (default '${dlqAmqpSettings.AMQP_NAMESPACE.default}');
ORDERS_DATABASE_URL (default ${outboxDatabaseSettings.ORDERS_DATABASE_URL.default}),
PAYMENTS_DATABASE_URL (default ${outboxDatabaseSettings.PAYMENTS_DATABASE_URL.default}),
DB_CONNECTION_TIMEOUT_MS and DB_STATEMENT_TIMEOUT_MS bound each wait on them.
Exit codes: 0 done; 1 RabbitMQ or a database unreachable, a queue missing, an --id
not found or a message not replayed; 2 bad usage or configuration.`;
