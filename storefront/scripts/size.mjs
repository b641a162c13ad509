// Prints the raw and gzipped size of every built asset, and fails the build
// when the JavaScript exceeds the budget (150 KB gzipped in all).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const BUDGET_GZIP_JS = 150 * 1024;
const dir = new URL('../dist/assets/', import.meta.url).pathname;
let jsRaw = 0;
let jsGzip = 0;
for (const name of readdirSync(dir).sort()) {
  const bytes = readFileSync(join(dir, name));
  const gz = gzipSync(bytes, { level: 9 }).length;
  console.log(`dist/assets/${name}: ${(bytes.length / 1024).toFixed(1)} KiB raw, ${(gz / 1024).toFixed(1)} KiB gzipped`);
  if (name.endsWith('.js')) {
    jsRaw += bytes.length;
    jsGzip += gz;
  }
}
console.log(`JavaScript total: ${(jsRaw / 1024).toFixed(1)} KiB raw, ${(jsGzip / 1024).toFixed(1)} KiB gzipped (budget ${BUDGET_GZIP_JS / 1024} KiB)`);
if (jsGzip > BUDGET_GZIP_JS) {
  console.error('The JavaScript is over its gzipped budget.');
  process.exit(1);
}
