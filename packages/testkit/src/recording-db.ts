import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from 'kysely';
import type { CompiledQuery, DatabaseConnection, QueryResult } from 'kysely';

/**
 * A database that performs no I/O, for unit tests of the apps: every query is
 * recorded, then answered with no rows (or with the rows `answer` gives), or
 * fails with `failWith`.
 */
export class RecordingDriver extends DummyDriver {
  readonly queries: CompiledQuery[] = [];
  failWith: Error | undefined = undefined;
  answer: (query: CompiledQuery) => unknown[] = () => [];

  override async acquireConnection(): Promise<DatabaseConnection> {
    return {
      executeQuery: async <R>(query: CompiledQuery): Promise<QueryResult<R>> => {
        this.queries.push(query);
        if (this.failWith) throw this.failWith;
        return { rows: this.answer(query) as R[] };
      },
      async *streamQuery() {},
    };
  }
}

export function createRecordingDb<DB>(): { db: Kysely<DB>; driver: RecordingDriver } {
  const driver = new RecordingDriver();
  const db = new Kysely<DB>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => driver,
      createIntrospector: (kysely) => new PostgresIntrospector(kysely),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  });
  return { db, driver };
}
