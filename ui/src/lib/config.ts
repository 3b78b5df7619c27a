// Where the API lives is decided where the shop is served: nginx answers
// /config.json from its environment, so one build runs anywhere. Unless it
// names an address, the gateway is on the host the page was opened at
// (localhost, 127.0.0.1, a LAN address, the machine's name…), so the shop
// works from whatever address the person typed.
import type { FetchLike } from './api.ts';

/** The gateway's port when /config.json does not say (vite dev, or an older config). */
export const DEFAULT_GATEWAY_PORT = 8080;

export interface ShopConfig {
  apiBaseUrl: string;
}

/**
 * The gateway's address on the host of pageUrl: same scheme and host (an IPv6
 * address keeps its brackets), the given port, no path. E.g.
 * ('http://192.168.1.20:3000/orders', 8080) → 'http://192.168.1.20:8080'.
 */
export function apiBaseFor(pageUrl: string, gatewayPort: number): string {
  const url = new URL(pageUrl);
  url.port = String(gatewayPort);
  return url.origin;
}

const isPort = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535;

/**
 * Reads /config.json: its apiBaseUrl (an http(s) URL, trailing slashes
 * dropped) when it names one; otherwise the gateway on the page's own host at
 * its gatewayPort (DEFAULT_GATEWAY_PORT when absent, or when the file is not
 * served or not JSON). Never throws.
 */
export async function loadConfig(
  fetchImpl: FetchLike = (url, init) => globalThis.fetch(url, init),
  pageUrl: string = globalThis.location.href,
): Promise<ShopConfig> {
  let body: unknown;
  try {
    const response = await fetchImpl('/config.json', { headers: { accept: 'application/json' }, cache: 'no-store' });
    if (response.ok) body = JSON.parse(await response.text());
  } catch {
    // not served (vite dev) or not JSON: the gateway on this host at its usual port
  }
  const config = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const url = config.apiBaseUrl;
  if (typeof url === 'string' && /^https?:\/\/\S+$/.test(url)) return { apiBaseUrl: url.replace(/\/+$/, '') };
  const port = isPort(config.gatewayPort) ? config.gatewayPort : DEFAULT_GATEWAY_PORT;
  return { apiBaseUrl: apiBaseFor(pageUrl, port) };
}
