import { readConfig } from '@gozon/platform';
import {
  outboxDatabaseSettings,
  SET_ASIDE_PER_RUN,
  workOnSetAside,
  type OutboxOutcome,
  type SetAsideRow,
} from '../set-aside-outbox.ts';
import type { Invocation, OutboxCommand } from './invocation.ts';
import { cell, describeError, redacted, reportMissingIds, summarize, table } from './output.ts';

function printSetAside(outcomes: OutboxOutcome[]): void {
  for (const outcome of outcomes) {
    if ('trouble' in outcome || outcome.rows.length === 0) continue;
    console.log(`${outcome.database} outbox at ${redacted(outcome.url)} (${outcome.rows.length})`);
    const rows = [['MESSAGE ID', 'SET ASIDE AT', 'TYPE', 'ATTEMPTS', 'ERROR', 'BODY']];
    for (const row of outcome.rows) {
      rows.push([
        cell(row.messageId, 36),
        cell(row.setAsideAt, 24),
        cell(row.type, 30),
        String(row.attempts),
        cell(row.error, 70),
        cell(row.preview, 60),
      ]);
    }
    for (const line of table(rows)) console.log(`  ${line}`);
    console.log('');
  }
}

function describeSetAside(row: SetAsideRow): string {
  return `${row.messageId} in the ${row.database} outbox (${row.type}; ${row.attempts} attempts; ${cell(row.error, 70)})`;
}

/** list-outbox, retry-outbox: the two databases only. Answers the exit code (see runDlq); throws ConfigError. */
export async function onOutbox(command: OutboxCommand, invocation: Invocation): Promise<number> {
  const { ids, json } = invocation;
  const config = readConfig(outboxDatabaseSettings);
  const retry = command === 'retry-outbox';
  const outcomes = await workOnSetAside(config, ids, retry);
  const found = outcomes.flatMap((outcome) => ('trouble' in outcome ? [] : outcome.rows));
  if (json) for (const row of found) console.log(JSON.stringify(retry ? { action: command, ...row } : row));
  else if (retry) for (const row of found) console.log(`retried ${describeSetAside(row)}`);
  else printSetAside(outcomes);

  const counts: string[] = [];
  const notLookedAt: string[] = [];
  for (const outcome of outcomes) {
    if ('trouble' in outcome) {
      console.error(
        `dlq: ${command} failed on the ${outcome.database} database at ${redacted(outcome.url)}: ${describeError(outcome.trouble)}`,
      );
      counts.push(`${outcome.database} failed`);
      notLookedAt.push(`the ${outcome.database} database failed`);
      continue;
    }
    counts.push(`${outcome.retried ?? outcome.rows.length} in ${outcome.database}`);
    if (outcome.retried !== undefined && outcome.retried < outcome.rows.length) {
      summarize(
        `${outcome.rows.length - outcome.retried} of those in ${outcome.database} had been retried meanwhile by someone else`,
        json,
      );
    }
    if (outcome.more) {
      summarize(
        `more than ${SET_ASIDE_PER_RUN} rows are set aside in ${outcome.database}; only the oldest ${SET_ASIDE_PER_RUN} were looked at${retry ? ': run retry-outbox again for the rest' : ''}`,
        json,
      );
      notLookedAt.push(`only the oldest ${SET_ASIDE_PER_RUN} of ${outcome.database} were looked at`);
    }
  }
  const total = outcomes.reduce(
    (sum, outcome) => sum + ('trouble' in outcome ? 0 : (outcome.retried ?? outcome.rows.length)),
    0,
  );
  summarize(
    retry
      ? `${total} retried (${counts.join(', ')})${total > 0 ? `; a relay publishes ${total === 1 ? 'it' : 'them'} within its poll interval` : ''}`
      : `${total} outbox row${total === 1 ? '' : 's'} set aside (${counts.join(', ')})`,
    json,
  );
  const missing = reportMissingIds(
    ids,
    found,
    'set-aside outbox row',
    notLookedAt.length > 0 ? ` (${notLookedAt.join('; ')})` : '',
  );
  return missing || outcomes.some((outcome) => 'trouble' in outcome) ? 1 : 0;
}
