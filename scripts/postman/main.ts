// `npm run postman`: writes postman/gozon.postman_collection.json from
// full-openapi.yaml. Run it after every change of the spec; the unit test
// scripts/test/unit/postman.test.ts fails until the committed file matches.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { buildCollection, COLLECTION_FILE, SPEC_FILE } from './collection.ts';

const collection = await buildCollection(readFileSync(SPEC_FILE, 'utf8'));
mkdirSync(dirname(COLLECTION_FILE), { recursive: true });
writeFileSync(COLLECTION_FILE, collection);
console.log(`wrote ${relative(process.cwd(), resolve(COLLECTION_FILE))} (${collection.length} bytes)`);
