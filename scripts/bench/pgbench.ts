// The yardstick: what this PostgreSQL does with the create-order transaction
// alone (an order and its outbox row), driven by pgbench at 16 clients for 15 s
// on a database of its own, beside the same machine's load.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ordersMigrations } from '@gozon/orders';
import { createTestDatabase } from '@gozon/testkit';
import { readMachineTicks, toBusyPercent } from './cpu.ts';

const SCRIPT = `\\set amount random(100, 100000)
BEGIN;
INSERT INTO "order" (id, user_id, amount, description) VALUES (gen_random_uuid(), 'pgbench', :amount, 'pgbench order');
INSERT INTO outbox_message (id, type, body, traceparent) VALUES (gen_random_uuid(), 'payment.requested', '{"amount": 1}', NULL);
COMMIT;
`;

/**
 * Runs pgbench on a freshly migrated orders database, dropped after; answers
 * its transactions per second and how busy the machine was meanwhile (%).
 * Throws when pgbench fails or prints no tps.
 */
export async function runPgbench(): Promise<{ tps: number; machineBusyPercent: number }> {
  const database = await createTestDatabase('pgbench', ordersMigrations);
  const script = join(tmpdir(), 'gozon-create-order.sql');
  writeFileSync(script, SCRIPT);
  try {
    const before = readMachineTicks();
    const output = execFileSync('pgbench', ['-n', '-c', '16', '-j', '2', '-T', '15', '-f', script, database.url], {
      encoding: 'utf8',
    });
    const tps = /tps = ([\d.]+)/.exec(output);
    if (!tps) throw new Error(`pgbench printed no tps:\n${output}`);
    const after = readMachineTicks();
    return { tps: Number(tps[1]), machineBusyPercent: toBusyPercent(before, after) };
  } finally {
    await database.drop();
  }
}
