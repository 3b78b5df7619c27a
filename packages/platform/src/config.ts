// Configuration is read from the environment once, at start; every problem is
// reported together so a misconfigured container says everything in one line.

export interface Setting<T> {
  readonly default: string | undefined;
  readonly describe: string;
  parse(raw: string): T;
}

export type ConfigSpec = Record<string, Setting<unknown>>;
export type Config<S extends ConfigSpec> = { [K in keyof S]: S[K] extends Setting<infer T> ? T : never };

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function text(fallback: string | undefined, describe: string): Setting<string> {
  return { default: fallback, describe, parse: (raw) => raw };
}

export function integer(fallback: number, describe: string, range: { min: number; max: number }): Setting<number> {
  return {
    default: String(fallback),
    describe,
    parse(raw) {
      const value = Number(raw);
      if (!/^-?\d+$/.test(raw.trim()) || value < range.min || value > range.max) {
        throw new ConfigError(`must be an integer from ${range.min} to ${range.max}, got ${JSON.stringify(raw)}`);
      }
      return value;
    },
  };
}

/** A number from 0 to 1, such as a share of traces kept. */
export function ratio(fallback: number, describe: string): Setting<number> {
  return {
    default: String(fallback),
    describe,
    parse(raw) {
      const value = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1)
        throw new ConfigError(`must be a number from 0 to 1, got ${JSON.stringify(raw)}`);
      return value;
    },
  };
}

export function url(fallback: string, describe: string, protocols: string[]): Setting<string> {
  return {
    default: fallback,
    describe,
    parse(raw) {
      let parsed: URL;
      try {
        parsed = new URL(raw);
      } catch {
        throw new ConfigError(`must be a URL, got ${JSON.stringify(raw)}`);
      }
      if (!protocols.includes(parsed.protocol)) {
        throw new ConfigError(`must use ${protocols.join(' or ')}, got ${parsed.protocol}`);
      }
      return raw;
    },
  };
}

export function oneOf<T extends string>(fallback: T, describe: string, values: readonly T[]): Setting<T> {
  return {
    default: fallback,
    describe,
    parse(raw) {
      if (!values.includes(raw as T))
        throw new ConfigError(`must be one of ${values.join(', ')}, got ${JSON.stringify(raw)}`);
      return raw as T;
    },
  };
}

export function readConfig<S extends ConfigSpec>(spec: S, env: NodeJS.ProcessEnv = process.env): Config<S> {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, setting] of Object.entries(spec)) {
    const raw = env[name] ?? setting.default;
    if (raw === undefined) {
      problems.push(`${name} is required (${setting.describe})`);
      continue;
    }
    try {
      values[name] = setting.parse(raw);
    } catch (error) {
      problems.push(`${name} ${(error as Error).message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  return values as Config<S>;
}

// Settings every process shares, so that their names and defaults are written once.
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const commonSettings = {
  LOG_LEVEL: oneOf<LogLevel>('info', 'least severe level that is logged', LOG_LEVELS),
  SHUTDOWN_TIMEOUT_MS: integer(15000, 'how long a graceful shutdown may take before it is forced', {
    min: 100,
    max: 600000,
  }),
};

/**
 * A PostgreSQL URL setting whose default is `database` on this machine's PostgreSQL, as `role` (a service its own,
 * see packages/<domain>/src/roles.ts; the setup steps the administrator). The compose file sets its own.
 */
export function databaseUrl(database: string, description: string, role = 'postgres'): Setting<string> {
  return url(`postgres://${role}@127.0.0.1:5432/${database}`, description, ['postgres:', 'postgresql:']);
}

/**
 * The database of a process, and the bounds on every wait for it (see createPool).
 *
 * They keep a 503 honest: an API request's longest path is one checkout and six
 * statements (begin, claim the Idempotency-Key, two writes or a write and a read,
 * save the response, commit), each bounded on the client by the statement
 * timeout + 1 s, so C + 6 × (S + 1 s) = 2 + 6 × 6 = 38 s; an order without a key
 * waits at most C for its turn, then its group's insert and, if that failed, its
 * own insert and read-back: 4 × C + 3 × (S + 1 s) = 26 s. Both stay below the
 * gateway's 60 s (proxy_read_timeout in gateway/default.conf.template): by the
 * time the gateway gives up, the service has answered, and what it did not
 * answer 2xx for was rolled back (or, its commit acknowledgement lost, is
 * answered 503 as unknown). Raise S or C only with that sum in mind.
 */
export function databaseSettings(database: string, poolSize = 8, role?: string) {
  return {
    DATABASE_URL: databaseUrl(database, 'PostgreSQL of this domain', role),
    DB_POOL_SIZE: integer(poolSize, 'connections in the pool', { min: 1, max: 200 }),
    DB_CONNECTION_TIMEOUT_MS: integer(
      2000,
      'most a query waits for a pooled connection, or for a new one to connect (C)',
      { min: 100, max: 60000 },
    ),
    DB_STATEMENT_TIMEOUT_MS: integer(
      5000,
      'statement_timeout: PostgreSQL cancels a statement running longer and rolls its transaction back (S)',
      { min: 100, max: 600000 },
    ),
    DB_LOCK_TIMEOUT_MS: integer(2000, 'lock_timeout: most a statement waits for a lock, within S', {
      min: 100,
      max: 600000,
    }),
    DB_IDLE_IN_TRANSACTION_SESSION_TIMEOUT_MS: integer(
      20000,
      'idle_in_transaction_session_timeout: PostgreSQL ends a session left idle that long inside a transaction, releasing its locks',
      { min: 1000, max: 600000 },
    ),
  };
}

export type DatabaseConfig = Config<ReturnType<typeof databaseSettings>>;

export const amqpSettings = {
  AMQP_URL: url('amqp://guest:guest@127.0.0.1:5672', 'RabbitMQ', ['amqp:', 'amqps:']),
  AMQP_NAMESPACE: text('', 'prefix of the exchange and queue names (tests use their own)'),
};
