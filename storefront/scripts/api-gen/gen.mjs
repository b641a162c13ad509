// Generates src/lib/api-schema.ts (types only) from the server's OpenAPI
// document, so `tsc --noEmit` fails when the client drifts from it.
// Usage: node scripts/api-gen/gen.mjs [document] (default: ../openapi/openapi.json)

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';

const root = new URL('../../', import.meta.url);
const doc = process.argv[2]
  ? pathToFileURL(process.argv[2])
  : new URL('../openapi/openapi.json', root);
const out = fileURLToPath(new URL('src/lib/api-schema.ts', root));

const header = `// Generated from openapi/openapi.json by scripts/api-gen/gen.mjs
// (npm run gen:api, run before dev, build and test). Do not edit; not committed.

`;
const text = header + astToString(await openapiTS(doc));

let old = null;
try {
  old = readFileSync(out, 'utf8');
} catch {
  // first run
}
// Rewrite only on change: a fresh mtime would make `cargo xtask` rebuild the storefront.
if (old !== text) {
  writeFileSync(out, text);
  console.log(`api-schema.ts: written from ${fileURLToPath(doc)}`);
}
