import amqp from 'amqplib';
import pg from 'pg';
import { AMQP_URL } from './broker.ts';
import { POSTGRES_URL } from './databases.ts';

// One short-lived connection per look: for checks that run between the
// services' own work, and must not hold anything open across it.

/**
 * Runs `work` with a client connected to `database` (a database's name on the test PostgreSQL,
 * or a whole postgres:// URL), and ends the client after.
 */
export async function withDb<T>(database: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const url = database.includes('://') ? database : `${POSTGRES_URL}/${database}`;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Runs `work` with a confirm channel on a new connection to `url` (the test RabbitMQ), and closes the connection after. */
export async function withChannel<T>(work: (channel: amqp.ConfirmChannel) => Promise<T>, url = AMQP_URL): Promise<T> {
  const connection = await amqp.connect(url);
  try {
    return await work(await connection.createConfirmChannel());
  } finally {
    await connection.close();
  }
}
