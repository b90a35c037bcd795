#!/usr/bin/env node
// boxlab: command-line entry; runs the compiled JavaScript in dist/ (built by `npm install`), never tsx at run time.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { distStale } from '../scripts/dist-stamp.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const timing = Boolean(process.env.BOXLAB_TIMING);
if (timing) performance.mark('entry');
const stale = distStale(root);
if (timing) performance.mark('dist-check');
if (stale) {
  // In a checkout (sources and esbuild present) a stale build is rebuilt, as `npm install` would; otherwise say so.
  if (!existsSync(join(root, 'node_modules', 'esbuild'))) {
    process.stderr.write(`boxlab: ${stale}; run \`npm install\` (or \`node scripts/build-dist.js\`) in ${root}\n`);
    process.exit(125);
  }
  process.stderr.write(`boxlab: ${stale}; rebuilding dist/ ...\n`);
  const { buildDist } = await import('../scripts/build-dist.js');
  // ifNeeded: a boxlab started beside this one may have built it while we waited for its lock.
  await buildDist({ ifNeeded: true });
}
const { main } = await import('../dist/main.js');
if (timing) performance.mark('load-main');
process.exitCode = await main(process.argv.slice(2));
