import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { brokerSetupSettings } from '@gozon/messaging';
import { migrateSettings, type ConfigSpec } from '@gozon/platform';
import { ORDERS_DATABASE, ORDERS_ROLES } from '@gozon/orders';
import { PAYMENTS_DATABASE, PAYMENTS_ROLES } from '@gozon/payments';
import { settings as ordersApi } from '../../orders-api/src/settings.ts';
import { settings as paymentsApi } from '../../payments-api/src/settings.ts';
import { settings as ordersRelay } from '../../orders-relay/src/settings.ts';
import { settings as paymentsWorker } from '../../payments-worker/src/settings.ts';
import {
  BROKER_SETUP,
  DEPLOYABLES,
  MIGRATIONS,
  serviceProcesses,
  setupProcesses,
} from '../../scripts/stack/processes.ts';

// What can be checked of the containers without a Docker engine: that compose
// runs what the native stack runs, sets every variable the code reads, and
// exposes and pins what the README says.

const ROOT = join(import.meta.dirname, '../..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

interface Service {
  image?: string;
  profiles?: string[];
  build?: { context: string; dockerfile?: string; args?: Record<string, string> };
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  restart?: string;
}

const composeText = read('docker-compose.yml');
const compose = parse(composeText, { merge: true }) as { version?: unknown; services: Record<string, Service> };
const services = compose.services;

const SETTINGS: Record<string, ConfigSpec> = {
  'orders-api': ordersApi,
  'payments-api': paymentsApi,
  'orders-relay': ordersRelay,
  'payments-worker': paymentsWorker,
  'orders-migrate': migrateSettings(ORDERS_DATABASE, ORDERS_ROLES),
  'payments-migrate': migrateSettings(PAYMENTS_DATABASE, PAYMENTS_ROLES),
  'broker-setup': brokerSetupSettings,
};

const COMMANDS: Record<string, readonly string[]> = {
  ...DEPLOYABLES,
  [BROKER_SETUP.name]: BROKER_SETUP.command,
  ...Object.fromEntries(MIGRATIONS.map((m) => [m.name, m.command])),
};

function placeholders(template: string): string[] {
  return [...new Set([...template.matchAll(/\$\{([A-Z_][A-Z0-9_]*)\}/g)].map((m) => m[1]!))].sort();
}

const nativeOptions = {
  replicas: 1,
  apiReplicas: 1,
  ordersDatabaseUrl: 'postgres://x/a',
  paymentsDatabaseUrl: 'postgres://x/b',
  amqpUrl: 'amqp://x',
  amqpNamespace: '',
  brokerPasswords: {},
  ordersApiPort: 1,
  paymentsApiPort: 2,
  healthPortBase: 10,
  logLevel: 'info',
};

const sameAsNative = suite('compose runs what the native stack runs');

sameAsNative('the Compose Specification: no version key', () => {
  assert.is(compose.version, undefined);
});

for (const [name, spec] of Object.entries(SETTINGS)) {
  sameAsNative(`${name}: the same command as npm run stack`, () => {
    assert.equal(services[name]?.command, [...COMMANDS[name]!]);
  });

  sameAsNative(`${name}: sets exactly the variables its config reader reads`, () => {
    assert.equal(Object.keys(services[name]?.environment ?? {}).sort(), Object.keys(spec).sort());
  });

  sameAsNative(`${name}: every default in compose is the code's default`, () => {
    for (const [key, value] of Object.entries(services[name]!.environment!)) {
      const fallback = /^\$\{[A-Z_0-9]+:-(.*)\}$/.exec(String(value))?.[1];
      // The roles' passwords are compose's alone: natively PostgreSQL trusts local connections and they stay unset.
      if (fallback !== undefined && !key.endsWith('_DB_PASSWORD'))
        assert.is(fallback, spec[key]!.default, `${name} ${key}`);
    }
  });
}

sameAsNative('the native runner only sets variables the services read', () => {
  for (const process of [...serviceProcesses(nativeOptions), ...setupProcesses(nativeOptions)]) {
    const kind = process.name.replace(/-\d+$/, '');
    const known = Object.keys(SETTINGS[kind]!);
    for (const key of Object.keys(process.env))
      assert.ok(known.includes(key), `${process.name} sets ${key}, which it never reads`);
  }
});

sameAsNative('each Node service builds the one Dockerfile with its own workspace', () => {
  for (const name of Object.keys(DEPLOYABLES)) {
    assert.is(services[name]?.build?.args?.SERVICE, name);
    assert.is(services[name]?.build?.dockerfile, undefined, 'the root Dockerfile');
  }
});

sameAsNative('the gateway gets a value for every placeholder of the template, and nothing else', () => {
  assert.equal(
    Object.keys(services.gateway?.environment ?? {}).sort(),
    placeholders(read('gateway/default.conf.template')),
  );
  assert.match(
    read('gateway/Dockerfile'),
    /COPY gateway\/default\.conf\.template \/etc\/nginx\/templates\/default\.conf\.template/,
  );
});

sameAsNative('the gateway image serves the Swagger UI version that package-lock.json pins', () => {
  const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { version: string }> };
  const pinned = lock.packages['node_modules/swagger-ui-dist']?.version;
  assert.ok(pinned, 'swagger-ui-dist is in package-lock.json');
  assert.ok(
    read('gateway/Dockerfile').includes(`swagger-ui-dist@${pinned} `) ||
      read('gateway/Dockerfile').includes(`swagger-ui-dist@${pinned}\n`),
  );
});

sameAsNative('the ui gets a value for every placeholder of its template, and nothing else', () => {
  assert.equal(Object.keys(services.ui?.environment ?? {}).sort(), placeholders(read('ui/nginx.conf.template')));
});

sameAsNative.run();

const shape = suite('compose: health, ports, images, .env.example');

shape('every condition waits on something that can satisfy it', () => {
  for (const [name, service] of Object.entries(services)) {
    for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
      assert.ok(services[dependency], `${name} depends on unknown ${dependency}`);
      if (condition === 'service_healthy')
        assert.ok(services[dependency].healthcheck, `${dependency} needs a healthcheck for ${name}`);
      else assert.is(condition, 'service_completed_successfully', `${name} → ${dependency}`);
      if (condition === 'service_completed_successfully') assert.is.not(services[dependency].restart, 'always');
    }
  }
});

shape('every long-running service that others depend on has a healthcheck', () => {
  const dependedOn = new Set(Object.values(services).flatMap((s) => Object.keys(s.depends_on ?? {})));
  for (const name of dependedOn) {
    if (services[name]!.restart === 'on-failure') continue; // a one-shot step: the migrations, broker-setup
    assert.ok(services[name]!.healthcheck, name);
  }
});

shape('host ports are exactly the documented three (8080, 3000, 15672), and the observability profile’s three', () => {
  const published = (profile: string | undefined) =>
    Object.entries(services)
      .filter(([, s]) => s.profiles?.[0] === profile)
      .flatMap(([name, s]) => (s.ports ?? []).map((p) => `${name} ${p}`))
      .sort();
  assert.equal(published(undefined), [
    'gateway ${GATEWAY_HOST_PORT:-8080}:8080',
    'rabbitmq ${RABBITMQ_MANAGEMENT_HOST_PORT:-15672}:15672',
    'ui ${UI_HOST_PORT:-3000}:3000',
  ]);
  assert.equal(published('observability'), [
    'grafana ${GRAFANA_HOST_PORT:-3300}:3000',
    'jaeger ${JAEGER_HOST_PORT:-16686}:16686',
    'prometheus ${PROMETHEUS_HOST_PORT:-9090}:9090',
  ]);
  const readme = read('README.md');
  for (const port of ['8080', '3000', '15672', '9090', '3300', '16686'])
    assert.ok(readme.includes(`:${port}`), `README mentions :${port}`);
});

shape('every image is pinned to a version, never latest', () => {
  const images = [
    ...Object.values(services).flatMap((s) => (s.image ? [s.image] : [])),
    ...['Dockerfile', 'gateway/Dockerfile', 'ui/Dockerfile'].flatMap((file) =>
      [...read(file).matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]!),
    ),
  ];
  assert.ok(images.length >= 6);
  for (const image of images) assert.match(image, /^[\w./-]+:v?\d[\w.-]*$/, image);
});

shape('.env.example documents every tunable compose reads, with the same default', () => {
  const example = new Map(
    read('.env.example')
      .split('\n')
      .filter((line) => /^[A-Z_0-9]+=/.test(line))
      .map((line) => line.split(/=(.*)/s).slice(0, 2) as [string, string]),
  );
  const used = new Map([...composeText.matchAll(/\$\{([A-Z_0-9]+):-([^}]*)\}/g)].map((m) => [m[1]!, m[2]!]));
  assert.ok(used.size > 0);
  for (const [name, fallback] of used) assert.is(example.get(name), fallback, `${name} in .env.example`);
  for (const name of example.keys()) assert.ok(used.has(name), `${name} in .env.example is used by compose`);
});

shape.run();
