import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const GATEWAY_TEMPLATE = join(import.meta.dirname, '../../gateway/default.conf.template');
export const UI_TEMPLATE = join(import.meta.dirname, '../../ui/nginx.conf.template');

/**
 * Renders the template as the nginx image's entrypoint does with envsubst:
 * `${NAME}` is replaced for the given names only, so nginx's own `$vars` stay.
 * A placeholder left without a value is an error, not an empty string.
 */
export function renderTemplate(template: string, values: Record<string, string>): string {
  const rendered = template.replace(/\$\{([A-Z_][A-Z0-9_]*)\}/g, (placeholder, name: string) => values[name] ?? placeholder);
  const missing = [...rendered.matchAll(/\$\{([A-Z_][A-Z0-9_]*)\}/g)].map((m) => m[1]);
  if (missing.length > 0) throw new Error(`gateway template: no value for ${[...new Set(missing)].join(', ')}`);
  return rendered;
}

export function renderTemplateFile(path: string, values: Record<string, string>): string {
  return renderTemplate(readFileSync(path, 'utf8'), values);
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
