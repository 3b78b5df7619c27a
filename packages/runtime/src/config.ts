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
      if (!values.includes(raw as T)) throw new ConfigError(`must be one of ${values.join(', ')}, got ${JSON.stringify(raw)}`);
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
  SHUTDOWN_TIMEOUT_MS: integer(15000, 'how long a graceful shutdown may take before it is forced', { min: 100, max: 600000 }),
};

export function databaseSettings(database: string, poolSize = 8) {
  return {
    DATABASE_URL: url(`postgres://postgres@127.0.0.1:5432/${database}`, 'PostgreSQL of this domain', ['postgres:', 'postgresql:']),
    DB_POOL_SIZE: integer(poolSize, 'connections in the pool', { min: 1, max: 200 }),
  };
}

export const amqpSettings = {
  AMQP_URL: url('amqp://guest:guest@127.0.0.1:5672', 'RabbitMQ', ['amqp:', 'amqps:']),
  AMQP_NAMESPACE: text('', 'prefix of the exchange and queue names (tests use their own)'),
};
