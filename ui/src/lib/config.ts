// Where the API lives is decided where the shop is served: nginx answers
// /config.json from its environment, so one build runs anywhere.
import type { FetchLike } from './api.ts';

export const DEFAULT_API_BASE_URL = 'http://localhost:8080';

export interface ShopConfig {
  apiBaseUrl: string;
}

export async function loadConfig(
  fetchImpl: FetchLike = (url, init) => globalThis.fetch(url, init),
): Promise<ShopConfig> {
  try {
    const response = await fetchImpl('/config.json', { headers: { accept: 'application/json' }, cache: 'no-store' });
    if (!response.ok) return { apiBaseUrl: DEFAULT_API_BASE_URL };
    const body: unknown = JSON.parse(await response.text());
    const url = typeof body === 'object' && body !== null ? (body as { apiBaseUrl?: unknown }).apiBaseUrl : undefined;
    if (typeof url === 'string' && /^https?:\/\/\S+$/.test(url)) return { apiBaseUrl: url.replace(/\/+$/, '') };
  } catch {
    // not served (vite dev) or not JSON: the default
  }
  return { apiBaseUrl: DEFAULT_API_BASE_URL };
}
