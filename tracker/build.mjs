// Build the served tracker: minify footfall.src.js with terser into src/footfall/static/footfall.js,
// gzip it with zopfli into footfall.js.gz beside it (what the server sends to browsers that accept
// gzip: ~2% smaller than zlib's best), and record the SHA-256 of the three files in build.sha256
// (sha256sum format), so a check without Node can tell whether the committed built files are the
// build of the committed source.
//   node build.mjs              build and record
//   node build.mjs --out PATH   build into PATH and PATH.gz only (the sync test compares them with
//                               the committed files)
import { gzipAsync } from '@gfx/zopfli';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { minify } from 'terser';

const here = dirname(fileURLToPath(import.meta.url));
const BUILT = '../src/footfall/static/footfall.js';
const at = process.argv.indexOf('--out');
const out = at > 0 ? process.argv[at + 1] : join(here, BUILT);

const sha256 = (data) => createHash('sha256').update(data).digest('hex');
const source = readFileSync(join(here, 'footfall.src.js'), 'utf8');
const result = await minify(source, {
  ecma: 2017,
  compress: { passes: 3, unsafe: true, unsafe_comps: true, unsafe_arrows: true, arrows: true },
  mangle: true,
  format: { comments: false },
});
const code = result.code + '\n';
const gzipped = Buffer.from(await gzipAsync(code, { numiterations: 15 }));
writeFileSync(out, code);
writeFileSync(out + '.gz', gzipped);
if (at < 0) {
  const manifest =
    `${sha256(source)}  footfall.src.js\n${sha256(code)}  ${BUILT}\n` +
    `${sha256(gzipped)}  ${BUILT}.gz\n`;
  writeFileSync(join(here, 'build.sha256'), manifest);
}
console.log(`${out}: ${Buffer.byteLength(code)} bytes, ${gzipped.length} gzipped`);
