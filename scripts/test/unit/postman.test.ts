import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { buildCollection, COLLECTION_FILE, SPEC_FILE } from '../../postman/collection.ts';

// The committed Postman collection is what the converter makes of the spec
// today: a change of full-openapi.yaml without `npm run postman` fails here.

const postman = suite('the Postman collection');
const spec = readFileSync(SPEC_FILE, 'utf8');

interface Item {
  name: string;
  item?: Item[];
  request?: { method: string; url: { path: string[] } };
}

function requestsOf(items: Item[]): string[] {
  return items.flatMap((item) =>
    item.item ? requestsOf(item.item) : [`${item.request!.method} /${item.request!.url.path.join('/')}`],
  );
}

/** The first line where two texts differ, for a message that does not print half a megabyte. */
function firstDifference(a: string, b: string): string {
  const left = a.split('\n');
  const right = b.split('\n');
  const line = left.findIndex((text, i) => text !== right[i]);
  const at = line === -1 ? left.length : line;
  return `line ${at + 1}: committed ${JSON.stringify(left[at])}, regenerated ${JSON.stringify(right[at])}`;
}

postman('postman/gozon.postman_collection.json is what `npm run postman` makes of full-openapi.yaml', async () => {
  const committed = readFileSync(COLLECTION_FILE, 'utf8');
  const regenerated = await buildCollection(spec);
  assert.ok(
    committed === regenerated,
    `the collection is stale: run npm run postman and commit it (${firstDifference(committed, regenerated)})`,
  );
});

postman('converting the same spec twice gives the same text: the random ids are left out', async () => {
  const [first, second] = await Promise.all([buildCollection(spec), buildCollection(spec)]);
  assert.ok(first === second, firstDifference(first, second));
  assert.not.match(first, /"_postman_id"/);
});

postman('every operation of the spec is a request of the collection, and nothing else is', () => {
  const paths = (parse(spec) as { paths: Record<string, Record<string, unknown>> }).paths;
  const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
  const operations = Object.entries(paths).flatMap(([template, item]) =>
    methods
      .filter((method) => item[method] !== undefined)
      .map((method) => `${method.toUpperCase()} ${template.replace(/\{(\w+)\}/g, ':$1')}`),
  );
  const collection = JSON.parse(readFileSync(COLLECTION_FILE, 'utf8')) as { item: Item[] };
  assert.equal(requestsOf(collection.item).sort(), operations.sort());
});

postman('a request is ready to send: the gateway as {{baseUrl}}, parameters from the spec’s examples', () => {
  const collection = JSON.parse(readFileSync(COLLECTION_FILE, 'utf8'));
  assert.equal(collection.variable, [{ key: 'baseUrl', value: 'http://localhost:8080' }]);
  const wallets = collection.item.find((folder: Item) => folder.name === 'wallets');
  const topUp = wallets.item.find((item: Item) => item.request?.url.path.join('/') === 'payments/add/:bill_id');
  assert.equal(topUp.request.url.variable[0].value, '019ab655-2058-7a11-b2c3-d4e5f6a7b8c9');
  assert.equal(
    topUp.request.url.query.map((q: { key: string; disabled: boolean }) => [q.key, q.disabled]),
    [['user_id', true]],
    'the optional ?user_id= is there, switched off',
  );
});

postman.run();
