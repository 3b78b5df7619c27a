import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import pg from 'pg';
import { ordersMigrations } from '@gozon/orders';
import { paymentsMigrations } from '@gozon/payments';
import { POSTGRES_URL, launch, uniqueSuffix } from '@gozon/testkit';

const migrate = suite('the migrate entry points');

const DOMAINS = [
  {
    main: 'packages/orders/bin/migrate.ts',
    migrations: ordersMigrations,
    tables: ['idempotency_key', 'inbox_attempt', 'inbox_message', 'order', 'outbox_message'],
  },
  {
    main: 'packages/payments/bin/migrate.ts',
    migrations: paymentsMigrations,
    tables: [
      'idempotency_key',
      'inbox_attempt',
      'inbox_message',
      'ledger_entry',
      'outbox_message',
      'payment',
      'wallet',
    ],
  },
];

async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: `${POSTGRES_URL}/postgres` });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function run(main: string, url: string) {
  const service = await launch({ name: 'migrate', command: [process.execPath, main], env: { DATABASE_URL: url } });
  const code = await service.exited;
  return { code, output: service.output() };
}

for (const domain of DOMAINS) {
  migrate(`${domain.main}: two at once on a missing database both succeed, a third applies nothing`, async () => {
    const name = `gozon_test_migrate_${uniqueSuffix()}`;
    const url = `${POSTGRES_URL}/${name}`;
    try {
      const [first, second] = await Promise.all([run(domain.main, url), run(domain.main, url)]);
      assert.is(first.code, 0, first.output);
      assert.is(second.code, 0, second.output);
      const applied = [first, second].map((r) => JSON.parse(r.output.trim().split('\n').at(-1)!).applied.length);
      assert.equal(
        applied.sort(),
        [0, Object.keys(domain.migrations).length],
        'one of them applied every migration, the other found nothing to do',
      );

      const third = await run(domain.main, url);
      assert.is(third.code, 0);
      assert.equal(JSON.parse(third.output.trim()).applied, []);

      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const { rows } = await client.query<{ table_name: string }>(
        `select table_name from information_schema.tables where table_schema = 'public' and table_name not like 'kysely%' order by table_name`,
      );
      await client.end();
      assert.equal(
        rows.map((r) => r.table_name),
        domain.tables,
      );
    } finally {
      await withAdmin((admin) => admin.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`));
    }
  });
}

migrate('a migrate that cannot reach its database exits non-zero and says why', async () => {
  const result = await run(DOMAINS[0]!.main, 'postgres://postgres@127.0.0.1:1/nowhere');
  assert.is.not(result.code, 0);
  assert.match(result.output, /"event":"migrate.failed"/);
});

migrate.run();
