// @ts-check
// Type-aware lint: `npm run lint`, and the `lint` level of `npm test`, which fails on any finding.
// It catches what `tsc` cannot — above all a promise nobody awaits or handles, which in a
// relay or a consumer is an error that goes nowhere or a process that exits mid-work.
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['**/node_modules/', '**/dist/', '.stack/', 'test-artifacts/', 'bench/results/']),
  {
    files: ['**/*.ts', '**/*.tsx'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        // The three projects `tsc` checks (npm test's typecheck level): each file is linted with the types it is compiled with.
        project: ['./tsconfig.json', './ui/tsconfig.json', './ui/tsconfig.node.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // The promise rules, named here so that they stay on whatever the recommended set becomes.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      // A promise returned un-awaited from inside try/catch/finally escapes that catch and runs after that finally.
      '@typescript-eslint/return-await': ['error', 'error-handling-correctness-only'],
      // Off: `async` on a function without `await` is this codebase's way to make a synchronous throw
      // a rejection where a Promise is promised (health checks, test doubles of fetch, drivers, sleeps).
      '@typescript-eslint/require-await': 'off',
      // Off: the explicit `any`s are deliberate: Kysely's documented `Kysely<any>` (a database of
      // whatever schema: migrations frozen in time, pingDb, migrateToLatest; `Kysely<unknown>` does not
      // accept a typed one), the override of pg's overloaded query, and the test client's JSON body.
      // An `any` that flows on into typed code is still caught outside the tests, by the no-unsafe-* rules.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    // Tests (and testkit, the package that exists only for them) read response bodies, rows and
    // message properties as `any` and assert on them field by field: the assertions are the check.
    // Typing each would add casts, not safety. Every other rule holds for them too.
    files: ['tests/**', '**/test/**', 'packages/testkit/**'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
