import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { apiBaseFor, loadConfig } from '../../src/lib/config.ts';

const answer = (status: number, body: string) => async () => new Response(body, { status });

const derived = suite('apiBaseFor: the gateway on the host the page was opened at');

derived('keeps the scheme and host the person typed and takes the gateway’s port', () => {
  const cases: Array<[string, string]> = [
    ['http://localhost:3000/', 'http://localhost:8080'],
    ['http://127.0.0.1:3000/some/deep/link?x=1#top', 'http://127.0.0.1:8080'],
    ['http://[::1]:3000/', 'http://[::1]:8080'],
    ['http://192.168.1.20:3000/', 'http://192.168.1.20:8080'],
    ['http://10.0.0.7:3000/', 'http://10.0.0.7:8080'],
    ['http://mybox:3000/', 'http://mybox:8080'],
    ['https://shop.example.com/', 'https://shop.example.com:8080'],
  ];
  for (const [page, api] of cases) assert.is(apiBaseFor(page, 8080), api, page);
});

derived('a gateway on the scheme’s default port is named without it', () => {
  assert.is(apiBaseFor('http://192.168.1.20:3000/', 80), 'http://192.168.1.20');
});

const config = suite('loadConfig: /config.json, or the gateway on the page’s host');

config('an apiBaseUrl it names is used as it is, less a trailing slash, wherever the page was opened', async () => {
  const fetch = answer(200, '{"apiBaseUrl":"https://api.example.com/","gatewayPort":8080}');
  assert.equal(await loadConfig(fetch, 'http://127.0.0.1:3000/'), { apiBaseUrl: 'https://api.example.com' });
});

config('an empty apiBaseUrl means the page’s own host on gatewayPort', async () => {
  const fetch = answer(200, '{"apiBaseUrl":"","gatewayPort":18080}');
  assert.equal(await loadConfig(fetch, 'http://127.0.0.1:3000/'), { apiBaseUrl: 'http://127.0.0.1:18080' });
  assert.equal(await loadConfig(fetch, 'http://192.168.1.20:3000/'), { apiBaseUrl: 'http://192.168.1.20:18080' });
});

config('not served, not JSON, or odd: the page’s own host on port 8080', async () => {
  for (const fetch of [
    answer(404, 'not found'),
    answer(200, '<!doctype html><html></html>'),
    answer(200, '{"apiBaseUrl": 8080}'),
    answer(200, '{"apiBaseUrl": "javascript:alert(1)"}'),
    answer(200, '{"apiBaseUrl": "", "gatewayPort": 0}'),
    answer(200, '{"gatewayPort": "8080"}'),
    answer(200, 'null'),
    answer(200, '{}'),
    async () => {
      throw new TypeError('Failed to fetch');
    },
  ]) {
    assert.equal(await loadConfig(fetch, 'http://[::1]:3000/'), { apiBaseUrl: 'http://[::1]:8080' });
  }
});

derived.run();
config.run();
