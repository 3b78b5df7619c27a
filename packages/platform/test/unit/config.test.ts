import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { apiSettings } from '@gozon/http';
import {
  ConfigError,
  QUERY_TIMEOUT_MARGIN_MS,
  amqpSettings,
  commonSettings,
  databaseSettings,
  integer,
  oneOf,
  readConfig,
  text,
  url,
} from '@gozon/platform';

/** The message readConfig throws for this spec and environment; fails the test if it does not throw a ConfigError. */
function problemsOf(spec: Parameters<typeof readConfig>[0], env: NodeJS.ProcessEnv): string {
  try {
    readConfig(spec, env);
  } catch (error) {
    assert.instance(error, ConfigError);
    assert.is((error as Error).name, 'ConfigError');
    return (error as Error).message;
  }
  assert.unreachable('readConfig should have thrown a ConfigError');
  return '';
}

const spec = {
  GREETING: text('hello', 'what to say'),
  PORT: integer(3000, 'HTTP port', { min: 1, max: 65535 }),
  DATABASE_URL: url('postgres://postgres@127.0.0.1:5432/db', 'the database', ['postgres:', 'postgresql:']),
  LOG_LEVEL: oneOf('info', 'least severe level', ['debug', 'info', 'warn', 'error'] as const),
};

// ---------------------------------------------------------------------------

const read = suite('readConfig');

read('every default applies when the environment is empty', () => {
  assert.equal(readConfig(spec, {}), {
    GREETING: 'hello',
    PORT: 3000,
    DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/db',
    LOG_LEVEL: 'info',
  });
});

read('the environment overrides the defaults, integers parsed as numbers', () => {
  const config = readConfig(spec, {
    GREETING: 'hi',
    PORT: '8080',
    DATABASE_URL: 'postgresql://user:secret@db:6543/other',
    LOG_LEVEL: 'debug',
  });
  assert.equal(config, {
    GREETING: 'hi',
    PORT: 8080,
    DATABASE_URL: 'postgresql://user:secret@db:6543/other',
    LOG_LEVEL: 'debug',
  });
  assert.type(config.PORT, 'number');
});

read('variables the spec does not name are ignored', () => {
  assert.equal(Object.keys(readConfig(spec, { UNRELATED: 'x', PATH: '/bin' })).sort(), [
    'DATABASE_URL',
    'GREETING',
    'LOG_LEVEL',
    'PORT',
  ]);
});

read('reads process.env when no environment is given', () => {
  const name = 'GOZON_CONFIG_TEST_SETTING';
  process.env[name] = 'from process.env';
  try {
    assert.equal(readConfig({ [name]: text(undefined, 'a test setting') }), { [name]: 'from process.env' });
  } finally {
    delete process.env[name];
  }
});

read('a setting with no default is required', () => {
  const message = problemsOf({ API_KEY: text(undefined, 'the key of the API') }, {});
  assert.match(message, 'API_KEY is required (the key of the API)');
});

read('a required setting given in the environment is accepted', () => {
  assert.equal(readConfig({ API_KEY: text(undefined, 'the key') }, { API_KEY: 'k' }), { API_KEY: 'k' });
});

read('a bad integer is reported with the variable, the range and the value', () => {
  const message = problemsOf(spec, { PORT: 'eighty' });
  assert.match(message, /^invalid configuration: /);
  assert.match(message, 'PORT must be an integer from 1 to 65535, got "eighty"');
});

for (const raw of ['12.5', '1e3', '', '0x50', '80abc']) {
  read(`the integer ${JSON.stringify(raw)} is refused`, () => {
    assert.match(
      problemsOf(spec, { PORT: raw }),
      `PORT must be an integer from 1 to 65535, got ${JSON.stringify(raw)}`,
    );
  });
}

for (const raw of ['0', '-1', '65536', '99999999999999999999']) {
  read(`the out-of-range integer ${raw} is refused`, () => {
    assert.match(problemsOf(spec, { PORT: raw }), `PORT must be an integer from 1 to 65535, got "${raw}"`);
  });
}

read('the ends of an integer range are accepted', () => {
  assert.is(readConfig(spec, { PORT: '1' }).PORT, 1);
  assert.is(readConfig(spec, { PORT: '65535' }).PORT, 65535);
});

read('a negative integer is accepted when the range allows it', () => {
  assert.is(readConfig({ OFFSET: integer(0, 'offset', { min: -10, max: 10 }) }, { OFFSET: '-10' }).OFFSET, -10);
});

read('a value that is not a URL is reported', () => {
  assert.match(
    problemsOf(spec, { DATABASE_URL: 'localhost:5432/db' }),
    /DATABASE_URL must (be a URL|use postgres: or postgresql:)/,
  );
  assert.match(problemsOf(spec, { DATABASE_URL: 'not a url' }), 'DATABASE_URL must be a URL, got "not a url"');
});

read('a URL with the wrong protocol is reported with the protocols allowed', () => {
  assert.match(
    problemsOf(spec, { DATABASE_URL: 'mysql://root@127.0.0.1/db' }),
    'DATABASE_URL must use postgres: or postgresql:, got mysql:',
  );
});

read('a value outside oneOf is reported with the values allowed', () => {
  assert.match(
    problemsOf(spec, { LOG_LEVEL: 'verbose' }),
    'LOG_LEVEL must be one of debug, info, warn, error, got "verbose"',
  );
});

read('oneOf is case-sensitive', () => {
  assert.match(problemsOf(spec, { LOG_LEVEL: 'INFO' }), 'LOG_LEVEL must be one of');
});

read('several problems are reported together in one message naming every variable', () => {
  const message = problemsOf(
    { ...spec, API_KEY: text(undefined, 'the key of the API') },
    { PORT: '70000', DATABASE_URL: 'http://example.com', LOG_LEVEL: 'loud' },
  );
  assert.match(message, /^invalid configuration: /);
  for (const name of ['PORT', 'DATABASE_URL', 'LOG_LEVEL', 'API_KEY']) assert.match(message, name);
  assert.not.match(message, 'GREETING');
  assert.is(message.split('; ').length, 4);
});

read.run();

// ---------------------------------------------------------------------------

const shared = suite('shared settings');

shared('common settings default to info and a 15 s shutdown', () => {
  assert.equal(readConfig(commonSettings, {}), { LOG_LEVEL: 'info', SHUTDOWN_TIMEOUT_MS: 15000 });
});

const DB_TIMEOUTS = {
  DB_CONNECTION_TIMEOUT_MS: 2000,
  DB_STATEMENT_TIMEOUT_MS: 5000,
  DB_LOCK_TIMEOUT_MS: 2000,
  DB_IDLE_IN_TRANSACTION_SESSION_TIMEOUT_MS: 20000,
};

shared('database settings default to the local database of that name, with every wait on it bounded', () => {
  assert.equal(readConfig(databaseSettings('gozon_orders'), {}), {
    DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/gozon_orders',
    DB_POOL_SIZE: 8,
    ...DB_TIMEOUTS,
  });
});

shared('the worst API request on the default timeouts ends before the gateway gives up (60 s)', () => {
  const c = readConfig(databaseSettings('x'), {});
  const statement = c.DB_STATEMENT_TIMEOUT_MS + QUERY_TIMEOUT_MARGIN_MS;
  const withKey = c.DB_CONNECTION_TIMEOUT_MS + 6 * statement;
  const grouped = 4 * c.DB_CONNECTION_TIMEOUT_MS + 3 * statement;
  assert.ok(Math.max(withKey, grouped) < 60_000, `${withKey} ms and ${grouped} ms`);
  assert.ok(c.DB_LOCK_TIMEOUT_MS < c.DB_STATEMENT_TIMEOUT_MS, 'a lock wait fails before its statement does');
  assert.ok(
    c.DB_IDLE_IN_TRANSACTION_SESSION_TIMEOUT_MS >= 15_000,
    'a relay awaiting publisher confirms keeps its claim',
  );
});

shared('AMQP settings default to the local broker and no namespace', () => {
  assert.equal(readConfig(amqpSettings, {}), { AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672', AMQP_NAMESPACE: '' });
});

shared('AMQP accepts amqps and refuses http', () => {
  assert.is(readConfig(amqpSettings, { AMQP_URL: 'amqps://u:p@broker:5671' }).AMQP_URL, 'amqps://u:p@broker:5671');
  assert.match(
    problemsOf(amqpSettings, { AMQP_URL: 'http://broker:15672' }),
    'AMQP_URL must use amqp: or amqps:, got http:',
  );
});

shared('API settings combine common, database (as the API’s own role), tracing, port and the key purge', () => {
  assert.equal(readConfig(apiSettings('gozon_payments', 3002, 'gozon_payments_api'), { PORT: '0' }), {
    LOG_LEVEL: 'info',
    SHUTDOWN_TIMEOUT_MS: 15000,
    DATABASE_URL: 'postgres://gozon_payments_api@127.0.0.1:5432/gozon_payments',
    DB_POOL_SIZE: 24,
    ...DB_TIMEOUTS,
    OTEL_EXPORTER_OTLP_ENDPOINT: '',
    OTEL_TRACES_SAMPLER_ARG: 1,
    OTEL_BSP_SCHEDULE_DELAY: 1000,
    PORT: 0,
    IDEMPOTENCY_PURGE_INTERVAL_MS: 600000,
  });
  assert.is(readConfig(apiSettings('gozon_payments', 3002, 'gozon_payments_api'), {}).PORT, 3002);
});

shared('shared settings refuse values outside their ranges', () => {
  const message = problemsOf(
    { ...commonSettings, ...databaseSettings('x') },
    { SHUTDOWN_TIMEOUT_MS: '50', DB_POOL_SIZE: '0', LOG_LEVEL: 'trace' },
  );
  assert.match(message, 'SHUTDOWN_TIMEOUT_MS must be an integer from 100 to 600000, got "50"');
  assert.match(message, 'DB_POOL_SIZE must be an integer from 1 to 200, got "0"');
  assert.match(message, 'LOG_LEVEL must be one of debug, info, warn, error, got "trace"');
});

shared.run();
