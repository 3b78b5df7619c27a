import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from 'kysely';
import type { DatabaseConnection, QueryResult } from 'kysely';

/**
 * A database that performs no I/O, for unit tests of the apps: it answers every
 * statement with no rows, as a database that holds nothing does, or, once
 * fail() was called, fails every statement with that error, as a database that
 * is down does. What it is asked is not kept: tests assert what the app answers.
 */
export function createStubDb<DB>(): { db: Kysely<DB>; fail: (error: Error) => void } {
  let failure: Error | undefined;
  class StubDriver extends DummyDriver {
    override async acquireConnection(): Promise<DatabaseConnection> {
      return {
        async executeQuery<R>(): Promise<QueryResult<R>> {
          if (failure) throw failure;
          return { rows: [] };
        },
        async *streamQuery() {},
      };
    }
  }
  const db = new Kysely<DB>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new StubDriver(),
      createIntrospector: (kysely) => new PostgresIntrospector(kysely),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  });
  return { db, fail: (error) => (failure = error) };
}
