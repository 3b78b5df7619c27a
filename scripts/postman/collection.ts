// full-openapi.yaml as a Postman collection, made by Postman's own converter
// (openapi-to-postmanv2) rather than by hand, so it cannot drift from the spec
// in ways a hand-written one would: `npm run postman` writes it, and a unit test
// regenerates it and compares.
import { resolve } from 'node:path';
import { convertV2 } from 'openapi-to-postmanv2';

const ROOT = resolve(import.meta.dirname, '../..');
/** The API document the collection is made from. */
export const SPEC_FILE = resolve(ROOT, 'full-openapi.yaml');
/** The committed collection, to import into Postman (or run with newman). */
export const COLLECTION_FILE = resolve(ROOT, 'postman/gozon.postman_collection.json');

/**
 * The converter's choices, fixed here so that a regeneration is comparable: one folder per tag of the spec, parameter
 * values taken from the spec's examples (a request can be sent as it is), optional parameters listed but switched off.
 */
const OPTIONS = {
  folderStrategy: 'Tags',
  parametersResolution: 'Example',
  enableOptionalParameters: false,
} as const;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * Drops the ids the converter draws at random on every run (`info._postman_id`, and `id` on each request and each
 * saved response), so the same spec always gives the same text. Postman assigns its own ids on import.
 */
function dropRandomIds(collection: { [key: string]: Json }): void {
  const info = collection.info as { [key: string]: Json } | undefined;
  if (info) delete info._postman_id;
  const visit = (items: Json | undefined) => {
    if (!Array.isArray(items)) return;
    for (const item of items as Array<{ [key: string]: Json }>) {
      delete item.id;
      for (const response of (item.response as Array<{ [key: string]: Json }> | undefined) ?? []) delete response.id;
      visit(item.item);
    }
  };
  visit(collection.item);
}

/**
 * The Postman collection (v2.1 format) of an OpenAPI document given as YAML or JSON text, as the JSON text to write:
 * two-space indented, with a final newline, the same for the same spec. Rejects with the converter's reason when it
 * cannot convert the document.
 */
export async function buildCollection(spec: string): Promise<string> {
  const collection = await new Promise<{ [key: string]: Json }>((resolve, reject) => {
    convertV2({ type: 'string', data: spec }, OPTIONS, (error, result) => {
      const output = result?.output?.[0]?.data;
      if (error || !result?.result || !output) {
        reject(new Error(`openapi-to-postmanv2 could not convert the spec: ${error?.message ?? result?.reason}`));
        return;
      }
      // Its descriptions are objects with a toJSON; one round trip through JSON makes the whole of it plain data.
      resolve(JSON.parse(JSON.stringify(output)) as { [key: string]: Json });
    });
  });
  dropRandomIds(collection);
  return `${JSON.stringify(collection, null, 2)}\n`;
}
