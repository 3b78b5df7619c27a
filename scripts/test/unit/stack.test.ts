import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  GATEWAY_TEMPLATE,
  UI_TEMPLATE,
  gatewayValues,
  listenOnIpv6Too,
  nativeNginxConf,
  renderTemplate,
  renderTemplateFile,
  uiValues,
} from '../../stack/nginx.ts';
import { serviceProcesses, setupProcesses } from '../../stack/processes.ts';

// The pure parts of `npm run stack`: the nginx config it renders and the
// processes it starts. A broken upstream or a shared health port would leave
// the stack up but unreachable, or never ready.

const config = {
  STACK_DIR: '/tmp/stack',
  GATEWAY_PORT: 8080,
  UI_PORT: 3000,
  STACK_API_REPLICAS: 2,
  ORDERS_API_PORT: 3001,
  PAYMENTS_API_PORT: 3101,
  CORS_ORIGIN: 'http://localhost:3000',
  GATEWAY_ACCESS_LOG: 'off',
  API_BASE_URL: '',
  GATEWAY_ORDER_RATE: 10,
  GATEWAY_ORDER_BURST: 60,
  GATEWAY_WRITE_RATE: 11,
  GATEWAY_WRITE_BURST: 30,
  GATEWAY_READ_RATE: 50,
  GATEWAY_READ_BURST: 200,
  GATEWAY_CONNECTIONS_PER_CLIENT: 100,
};

/** The `server` lines of one upstream block of a rendered gateway config. */
function serversOf(rendered: string, upstream: string): string[] {
  const block = new RegExp(`upstream ${upstream} \\{([^}]*)\\}`).exec(rendered)?.[1] ?? '';
  return [...block.matchAll(/^\s*(server [^;]*;)/gm)].map((m) => m[1]!);
}

const nginx = suite('the native nginx config');

nginx('a template gets its ${NAME}s replaced, and nginx’s own $variables stay as they are', () => {
  assert.is(
    renderTemplate('listen ${PORT}; add_header X $request_id; set $a ${lower};', { PORT: '80' }),
    'listen 80; add_header X $request_id; set $a ${lower};',
  );
});

nginx('a placeholder without a value is an error that names it once, not an empty string', () => {
  assert.throws(() => renderTemplate('${A} ${B} ${A}', { B: 'b' }), /no value for A$/);
});

nginx('the gateway spreads /orders over every orders-api replica and /payments over every payments-api one', () => {
  const rendered = renderTemplateFile(GATEWAY_TEMPLATE, gatewayValues(config, '/tmp/stack/docs'));
  assert.equal(serversOf(rendered, 'orders_api'), [
    'server 127.0.0.1:3001 fail_timeout=2s;',
    'server 127.0.0.1:3002 fail_timeout=2s;',
  ]);
  assert.equal(serversOf(rendered, 'payments_api'), [
    'server 127.0.0.1:3101 fail_timeout=2s;',
    'server 127.0.0.1:3102 fail_timeout=2s;',
  ]);
  assert.match(rendered, /listen 8080;/);
  assert.match(rendered, /"http:\/\/localhost:3000" \$http_origin;/);
  assert.match(rendered, /access_log off;/);
  assert.not.match(rendered, /\$\{[A-Z_]/);
});

nginx('the gateway passes order events on unbuffered and does not cut an idle stream at 60 s', () => {
  const rendered = renderTemplateFile(GATEWAY_TEMPLATE, gatewayValues(config, '/tmp/stack/docs'));
  const events = /location \/orders\/events\/ \{([^}]*)\}/.exec(rendered)?.[1] ?? '';
  assert.match(events, /proxy_pass http:\/\/orders_api;/);
  assert.match(events, /proxy_buffering off;/);
  const readTimeout = Number(/proxy_read_timeout (\d+)s;/.exec(events)?.[1]);
  assert.ok(readTimeout > 60, `read timeout ${readTimeout} s is past the 60 s of other requests`);
});

nginx('each client address has its own budget for orders, other writes and reads, and its own connections', () => {
  const rendered = renderTemplateFile(GATEWAY_TEMPLATE, gatewayValues(config, '/d'));
  assert.match(rendered, /limit_req_zone \$order_budget_key zone=order_budget:10m rate=10r\/s;/);
  assert.match(rendered, /limit_req_zone \$write_budget_key zone=write_budget:10m rate=11r\/s;/);
  assert.match(rendered, /limit_req zone=order_budget burst=60 nodelay;/);
  assert.match(rendered, /limit_req zone=read_budget burst=200 nodelay;/);
  assert.match(rendered, /limit_conn client_connections 100;/);
  assert.match(rendered, /limit_req_status 429;/);
});

nginx('one API replica is one server line per upstream', () => {
  const rendered = renderTemplateFile(GATEWAY_TEMPLATE, gatewayValues({ ...config, STACK_API_REPLICAS: 1 }, '/d'));
  assert.equal(serversOf(rendered, 'orders_api'), ['server 127.0.0.1:3001 fail_timeout=2s;']);
  assert.equal(serversOf(rendered, 'payments_api'), ['server 127.0.0.1:3101 fail_timeout=2s;']);
});

nginx('compose’s one DNS name with "resolve" stays one server line that follows every replica', () => {
  const rendered = renderTemplateFile(GATEWAY_TEMPLATE, {
    ...gatewayValues(config, '/d'),
    ORDERS_API_SERVERS: 'server orders-api:3000 resolve fail_timeout=2s;',
  });
  assert.equal(serversOf(rendered, 'orders_api'), ['server orders-api:3000 resolve fail_timeout=2s;']);
});

nginx('asked for an access log, the gateway writes its JSON lines to that file', () => {
  const rendered = renderTemplateFile(
    GATEWAY_TEMPLATE,
    gatewayValues({ ...config, GATEWAY_ACCESS_LOG: '/tmp/stack/access.log' }, '/d'),
  );
  assert.match(rendered, 'access_log /tmp/stack/access.log gateway_json;');
});

nginx('the UI is served from ui/dist on its port and finds the gateway on its own host, at the gateway’s port', () => {
  const rendered = renderTemplateFile(UI_TEMPLATE, uiValues(config));
  assert.match(rendered, /listen 3000;/);
  assert.match(rendered, /root \/\S+\/ui\/dist;/);
  assert.match(rendered, '{"apiBaseUrl":"","gatewayPort":8080}');
  const fixed = renderTemplateFile(UI_TEMPLATE, uiValues({ ...config, API_BASE_URL: 'https://api.example.com' }));
  assert.match(fixed, '{"apiBaseUrl":"https://api.example.com","gatewayPort":8080}');
});

/** The gateway's CORS rule as rendered: whether a browser page of this origin may read the API's answers. */
function corsAllows(rendered: string, origin: string): boolean {
  const map = /map \$http_origin \$cors_origin \{([^}]*(?:\{[^}]*\}[^}]*)*)\n\}/.exec(rendered)?.[1] ?? '';
  const entries = [...map.matchAll(/^\s+"([^"]*)" \$http_origin;$/gm)].map((m) => m[1]!);
  assert.ok(entries.length >= 2, 'the map lists CORS_ORIGIN and the local rule');
  return entries.some((entry) =>
    entry.startsWith('~*') ? new RegExp(entry.slice(2), 'i').test(origin) : entry === origin,
  );
}

nginx('CORS: the UI port on any loopback, private network or local name, and CORS_ORIGIN; nothing else', () => {
  const rendered = renderTemplateFile(
    GATEWAY_TEMPLATE,
    gatewayValues({ ...config, CORS_ORIGIN: 'https://shop.example.com' }, '/tmp/stack/docs'),
  );
  for (const origin of [
    'http://localhost:3000',
    'http://127.0.0.1:3000',
    'http://127.1.2.3:3000',
    'http://[::1]:3000',
    'http://[fd12:3456::1]:3000',
    'http://10.1.2.3:3000',
    'http://172.16.0.5:3000',
    'http://172.31.255.1:3000',
    'http://192.168.1.20:3000',
    'https://192.168.1.20:3000',
    'http://mybox:3000',
    'http://MyBox:3000',
    'http://mybox.local:3000',
    'http://shop.localhost:3000',
    'http://nas.home.arpa:3000',
    'https://shop.example.com',
  ])
    assert.ok(corsAllows(rendered, origin), `${origin} is allowed`);
  for (const origin of [
    'http://evil.example',
    'http://evil.example:3000',
    'http://localhost:3001',
    'http://localhost:30000',
    'http://localhost',
    'http://127.0.0.1.evil.example:3000',
    'http://192.168.1.20.evil.example:3000',
    'http://8.8.8.8:3000',
    'http://172.32.0.1:3000',
    'http://172.15.0.1:3000',
    'http://192.169.1.1:3000',
    'http://11.0.0.1:3000',
    'http://[2001:db8::1]:3000',
    'http://local:3000.evil.example',
    'null',
    'https://shop.example.com:8443',
  ])
    assert.not.ok(corsAllows(rendered, origin), `${origin} is refused`);
});

nginx('natively both servers listen on IPv6 as well, so http://[::1]:3000 works too', () => {
  const conf = listenOnIpv6Too(renderTemplateFile(UI_TEMPLATE, uiValues(config)));
  assert.match(conf, /^ {4}listen 3000;\n {4}listen \[::\]:3000;$/m);
  assert.is([...conf.matchAll(/^\s*listen /gm)].length, 2);
});

nginx('the main nginx.conf includes every server block and keeps its pid and temp files in the folder', () => {
  const conf = nativeNginxConf('/tmp/stack/nginx', ['/tmp/stack/nginx/gateway.conf', '/tmp/stack/nginx/ui.conf']);
  assert.match(conf, '    include /tmp/stack/nginx/gateway.conf;\n    include /tmp/stack/nginx/ui.conf;\n}');
  assert.match(conf, 'pid /tmp/stack/nginx/nginx.pid;');
  for (const path of conf.matchAll(/_temp_path (\S+);/g)) assert.ok(path[1]!.startsWith('/tmp/stack/nginx/'), path[0]);
});

nginx.run();

const processes = suite('the processes of the stack');

const options = {
  replicas: 1,
  apiReplicas: 1,
  ordersDatabaseUrl: 'postgres://x/orders',
  paymentsDatabaseUrl: 'postgres://x/payments',
  amqpUrl: 'amqp://admin:secret@rabbit:5672/gozon',
  amqpNamespace: '',
  brokerPasswords: { ORDERS_RELAY_AMQP_PASSWORD: 'r', PAYMENTS_WORKER_AMQP_PASSWORD: 'w', DLQ_AMQP_PASSWORD: 'd' },
  ordersApiPort: 3001,
  paymentsApiPort: 3101,
  healthPortBase: 9100,
  logLevel: 'info',
};

processes('each replica of each API and of each worker is started, each with a port of its own', () => {
  const services = serviceProcesses({ ...options, replicas: 3, apiReplicas: 2 });
  assert.equal(
    services.map((s) => s.name),
    [
      'orders-api-1',
      'orders-api-2',
      'payments-api-1',
      'payments-api-2',
      'orders-relay-1',
      'payments-worker-1',
      'orders-relay-2',
      'payments-worker-2',
      'orders-relay-3',
      'payments-worker-3',
    ],
  );
  const ports = services.map((s) => s.healthPort);
  assert.is(new Set(ports).size, ports.length, `distinct health ports: ${ports.join(', ')}`);
  const apiPorts = services.filter((s) => s.name.includes('-api-')).map((s) => s.env.PORT);
  assert.equal(apiPorts, ['3001', '3002', '3101', '3102'], 'each API replica listens where its health is');
});

processes('orders-api alone takes its own way to the orders database when given one', () => {
  const services = serviceProcesses({ ...options, ordersApiDatabaseUrl: 'postgres://proxy/orders' });
  const databaseOf = (name: string) => services.find((s) => s.name === name)?.env.DATABASE_URL;
  assert.is(databaseOf('orders-api-1'), 'postgres://gozon_orders_api@proxy/orders');
  assert.is(databaseOf('orders-relay-1'), 'postgres://gozon_orders_relay@x/orders');
});

processes(
  'each service logs in as its own database role and broker user; the setup steps as the administrators',
  () => {
    const env = (name: string) =>
      [...setupProcesses(options), ...serviceProcesses(options)].find((s) => s.name === name)!.env;
    assert.is(env('orders-api-1').DATABASE_URL, 'postgres://gozon_orders_api@x/orders');
    assert.is(env('payments-api-1').DATABASE_URL, 'postgres://gozon_payments_api@x/payments');
    assert.is(env('payments-worker-1').DATABASE_URL, 'postgres://gozon_payments_worker@x/payments');
    assert.is(env('orders-relay-1').AMQP_URL, 'amqp://gozon-orders-relay:r@rabbit:5672/gozon');
    assert.is(env('payments-worker-1').AMQP_URL, 'amqp://gozon-payments-worker:w@rabbit:5672/gozon');
    assert.is(env('broker-setup').AMQP_URL, options.amqpUrl);
    assert.is(env('broker-setup').DLQ_AMQP_PASSWORD, 'd');
    assert.is(env('orders-migrate').DATABASE_URL, options.ordersDatabaseUrl);
  },
);

processes.run();
