import type { Kysely } from 'kysely';

/**
 * The same database, counting the statements that ran to completion through it
 * (in its transactions too; BEGIN and COMMIT are not statements of the app's).
 * How many round trips an operation costs is part of its design: placing an
 * order and its payment request is one statement.
 */
export function countStatements<DB>(db: Kysely<DB>): { db: Kysely<DB>; statements: () => number } {
  let completed = 0;
  const counted = db.withPlugin({
    transformQuery: ({ node }) => node,
    transformResult: async ({ result }) => {
      completed += 1;
      return result;
    },
  });
  return { db: counted, statements: () => completed };
}
