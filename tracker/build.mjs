// Build the served tracker: minify footfall.src.js with terser into src/footfall/static/footfall.js
// and record the SHA-256 of both files in build.sha256 (sha256sum format), so a check without Node
// can tell whether the committed built file is the build of the committed source.
//   node build.mjs              build and record
//   node build.mjs --out PATH   build into PATH only (the sync test compares it with the committed file)
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { minify } from 'terser';

const here = dirname(fileURLToPath(import.meta.url));
const BUILT = '../src/footfall/static/footfall.js';
const at = process.argv.indexOf('--out');
const out = at > 0 ? process.argv[at + 1] : join(here, BUILT);

const sha256 = (text) => createHash('sha256').update(text, 'utf8').digest('hex');
const source = readFileSync(join(here, 'footfall.src.js'), 'utf8');
const result = await minify(source, {
  ecma: 2017,
  compress: { passes: 3, unsafe: true, unsafe_comps: true, unsafe_arrows: true, arrows: true },
  mangle: true,
  format: { comments: false },
});
const code = result.code + '\n';
writeFileSync(out, code);
if (at < 0) {
  const manifest = `${sha256(source)}  footfall.src.js\n${sha256(code)}  ${BUILT}\n`;
  writeFileSync(join(here, 'build.sha256'), manifest);
}
console.log(`${out}: ${Buffer.byteLength(code)} bytes`);
