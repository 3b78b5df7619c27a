// The gateway and the UI behind a native nginx: the same templates the nginx
// images render with envsubst, rendered here into the stack's folder with the
// main nginx.conf the image has around them, and checked with `nginx -t`.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { replicaPorts } from './processes.ts';
import type { StackConfig } from './settings.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const NGINX = '/usr/sbin/nginx';

export const GATEWAY_TEMPLATE = join(ROOT, 'gateway/default.conf.template');
export const UI_TEMPLATE = join(ROOT, 'ui/nginx.conf.template');

/** The gateway's budgets per client address, as the template names them. */
export const GATEWAY_BUDGETS = [
  'GATEWAY_ORDER_RATE',
  'GATEWAY_ORDER_BURST',
  'GATEWAY_WRITE_RATE',
  'GATEWAY_WRITE_BURST',
  'GATEWAY_READ_RATE',
  'GATEWAY_READ_BURST',
  'GATEWAY_CONNECTIONS_PER_CLIENT',
] as const;

/** The settings nginx is rendered from. */
export type NginxConfig = Pick<
  StackConfig,
  | (typeof GATEWAY_BUDGETS)[number]
  | 'STACK_DIR'
  | 'GATEWAY_PORT'
  | 'UI_PORT'
  | 'STACK_API_REPLICAS'
  | 'ORDERS_API_PORT'
  | 'PAYMENTS_API_PORT'
  | 'CORS_ORIGIN'
  | 'GATEWAY_ACCESS_LOG'
  | 'API_BASE_URL'
>;

/**
 * Renders the template as the nginx image's entrypoint does with envsubst:
 * `${NAME}` is replaced for the given names only, so nginx's own `$vars` stay.
 * A placeholder left without a value is an error, not an empty string.
 */
export function renderTemplate(template: string, values: Record<string, string>): string {
  const rendered = template.replace(
    /\$\{([A-Z_][A-Z0-9_]*)\}/g,
    (placeholder, name: string) => values[name] ?? placeholder,
  );
  const missing = [...rendered.matchAll(/\$\{([A-Z_][A-Z0-9_]*)\}/g)].map((m) => m[1]);
  if (missing.length > 0) throw new Error(`gateway template: no value for ${[...new Set(missing)].join(', ')}`);
  return rendered;
}

/** renderTemplate on the file at `path`. */
export function renderTemplateFile(path: string, values: Record<string, string>): string {
  return renderTemplate(readFileSync(path, 'utf8'), values);
}

/**
 * How long nginx leaves a replica alone after a connection to it failed. Its
 * default, 10 s, would answer 503 for that long after every replica died once
 * (a quick double restart), though they are back within a second; a dead one
 * costs a refused connect (well under a millisecond here) per try meanwhile.
 * Compose's server line (docker-compose.yml) says the same.
 */
export const UPSTREAM_FAIL_TIMEOUT = 'fail_timeout=2s';

/**
 * An upstream's `server` lines natively, one per replica on this machine by
 * address (no DNS to follow), indented as the template's upstream blocks are.
 * A replica that refused a connection is skipped for UPSTREAM_FAIL_TIMEOUT
 * (docs/ARCHITECTURE.md, "Scaling").
 */
export function upstreamServers(firstPort: number, replicas: number): string {
  return replicaPorts(firstPort, replicas)
    .map((port) => `server 127.0.0.1:${port} ${UPSTREAM_FAIL_TIMEOUT};`)
    .join('\n    ');
}

/** The gateway template's values natively: every replica of both APIs in their upstreams; the access log where asked. */
export function gatewayValues(config: NginxConfig, docsRoot: string): Record<string, string> {
  return {
    GATEWAY_PORT: String(config.GATEWAY_PORT),
    ORDERS_API_SERVERS: upstreamServers(config.ORDERS_API_PORT, config.STACK_API_REPLICAS),
    PAYMENTS_API_SERVERS: upstreamServers(config.PAYMENTS_API_PORT, config.STACK_API_REPLICAS),
    DNS_RESOLVER: '127.0.0.1',
    UI_PORT: String(config.UI_PORT),
    CORS_ORIGIN: config.CORS_ORIGIN,
    GATEWAY_ACCESS_LOG:
      config.GATEWAY_ACCESS_LOG === 'off' ? 'off' : `${resolve(config.GATEWAY_ACCESS_LOG)} gateway_json`,
    DOCS_ROOT: docsRoot,
    ...Object.fromEntries(GATEWAY_BUDGETS.map((name) => [name, String(config[name])])),
  };
}

/**
 * The UI template's values natively: the built UI from ui/dist, calling the API through the gateway,
 * at API_BASE_URL when set, else on the host the page was opened at and the gateway's port.
 */
export function uiValues(config: NginxConfig): Record<string, string> {
  return {
    UI_PORT: String(config.UI_PORT),
    UI_ROOT: join(ROOT, 'ui/dist'),
    API_BASE_URL: config.API_BASE_URL,
    GATEWAY_PORT: String(config.GATEWAY_PORT),
  };
}

/**
 * A rendered server block that also listens on IPv6, as the nginx image's
 * 10-listen-on-ipv6-by-default.sh does for its default server, so a page opened
 * at http://[::1]:3000 reaches the UI and the gateway. Each `listen PORT;` gets
 * a `listen [::]:PORT;` after it.
 */
export function listenOnIpv6Too(conf: string): string {
  return conf.replace(/^(\s*)listen (\d+);$/gm, '$1listen $2;\n$1listen [::]:$2;');
}

/** Whether this machine has IPv6 (nginx cannot listen on [::] without it). */
function hasIpv6(): boolean {
  return existsSync('/proc/net/if_inet6');
}

/** The main nginx.conf the official image has around its conf.d, for a native nginx running from a folder of ours. */
export function nativeNginxConf(dir: string, servers: string[]): string {
  return `worker_processes 1;
pid ${dir}/nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
http {
    client_body_temp_path ${dir}/client_body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;
    include /etc/nginx/mime.types;
    keepalive_timeout 65;
${servers.map((conf) => `    include ${conf};`).join('\n')}
}
`;
}

/** Throws, saying how to install it, when nginx is not on this machine. */
export function requireNginx(): void {
  if (!existsSync(NGINX)) throw new Error(`nginx is missing: apt-get update && apt-get install -y nginx`);
}

/** What the gateway image holds under DOCS_ROOT: the spec, the docs page, and Swagger UI from node_modules. */
function prepareDocs(stackDir: string, docs: string): string {
  rmSync(docs, { recursive: true, force: true });
  mkdirSync(docs, { recursive: true });
  // nginx's workers run as an unprivileged user and must be able to walk down to the files.
  chmodSync(stackDir, 0o755);
  copyFileSync(join(ROOT, 'full-openapi.yaml'), join(docs, 'openapi.yaml'));
  copyFileSync(join(ROOT, 'gateway/docs.html'), join(docs, 'index.html'));
  copyFileSync(join(ROOT, 'gateway/docs.js'), join(docs, 'docs.js'));
  symlinkSync(join(ROOT, 'node_modules/swagger-ui-dist'), join(docs, 'swagger-ui'));
  return docs;
}

/**
 * Writes the UI's and the gateway's server blocks, the docs they serve and the
 * main nginx.conf under STACK_DIR, has nginx check them, and answers the
 * command that runs nginx on them in the foreground. Throws with nginx's
 * complaint when it rejects them.
 */
export function writeNginxConfig(config: NginxConfig): string[] {
  const dir = join(config.STACK_DIR, 'nginx');
  mkdirSync(dir, { recursive: true });
  const gatewayConf = join(dir, 'gateway.conf');
  const uiConf = join(dir, 'ui.conf');
  const listen = hasIpv6() ? listenOnIpv6Too : (conf: string) => conf;
  writeFileSync(uiConf, listen(renderTemplateFile(UI_TEMPLATE, uiValues(config))));
  writeFileSync(
    gatewayConf,
    listen(
      renderTemplateFile(
        GATEWAY_TEMPLATE,
        gatewayValues(config, prepareDocs(config.STACK_DIR, join(config.STACK_DIR, 'docs'))),
      ),
    ),
  );
  const nginxConf = join(dir, 'nginx.conf');
  writeFileSync(nginxConf, nativeNginxConf(dir, [gatewayConf, uiConf]));
  const check = spawnSync(NGINX, ['-t', '-q', '-p', dir, '-e', 'stderr', '-c', nginxConf], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`nginx rejected the gateway config:\n${check.stderr}`);
  return [NGINX, '-p', dir, '-e', 'stderr', '-c', nginxConf, '-g', 'daemon off;'];
}
