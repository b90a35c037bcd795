// build-dist.js: compiles the server and CLI TypeScript to JavaScript in dist/ (run by `npm install`), so nothing
// ships or runs tsx at run time. `--if-needed`: only when a source is newer than the last build.
import { chownSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { distStale, STAMP } from './dist-stamp.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist');

/**
 * Every output file lands flat in dist/, so a source's `import.meta.url` is rewritten to its own location relative
 * to dist/: paths the code derives from it (native-bindings/build, lessons/, out/) stay those of the checkout.
 * `import(new URL('x.ts', import.meta.url).href)` (a lazy import hidden from tsc's graph) becomes `import('x.ts')`
 * so the bundler compiles x.ts too, instead of leaving a run-time import of TypeScript.
 */
const importMetaPlugin = {
  name: 'import-meta-url',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      if (args.path.includes('node_modules')) return undefined;
      let src = readFileSync(args.path, 'utf8');
      src = src.replace(/import\(new URL\((['"][^'"]+['"]), import\.meta\.url\)\.href\)/g, 'import($1)');
      const rel = relative(out, args.path).split('\\').join('/');
      src = src.replace(/import\.meta\.url/g, `new URL(${JSON.stringify(rel)}, import.meta.url).href`);
      return { contents: src, loader: 'ts' };
    });
  },
};

/**
 * One builder at a time per checkout: `dist.lock` (O_EXCL, holding the builder's pid). Several `boxlab` processes
 * started at once on a stale dist/ (a test suite, `npm start` beside `boxlab run`) used to build side by side and
 * race on the final renames (`ENOTEMPTY: rename dist.tmp-N -> dist`). A waiter re-checks staleness once the lock is
 * free, so the others use the build the first one made. A lock whose pid is gone (a killed build) is taken over.
 */
async function takeLock(waitMs = 300_000) {
  const lock = `${out}.lock`;
  const end = Date.now() + waitMs;
  for (;;) {
    try {
      writeFileSync(lock, `${process.pid}\n`, { flag: 'wx' });
      return () => rmSync(lock, { force: true });
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
    }
    let holder = 0;
    try {
      holder = Number(readFileSync(lock, 'utf8').trim());
    } catch {
      continue; // released between our two calls
    }
    if (!alive(holder)) {
      try {
        unlinkSync(lock);
      } catch {
        // another waiter took it over first
      }
      continue;
    }
    if (Date.now() > end) throw new Error(`dist/ is being built by pid ${holder} for more than ${waitMs / 1000} s (${lock})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function alive(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/** Builds dist/; with `ifNeeded`, only when it is still stale once this process holds the build lock. */
export async function buildDist({ quiet = false, ifNeeded = false } = {}) {
  const release = await takeLock();
  try {
    if (ifNeeded && !distStale(root)) return false;
    await build(quiet);
    return true;
  } finally {
    release();
  }
}

async function build(quiet) {
  const t0 = performance.now();
  // The stamp is the time the build started: a source saved during the build reads as newer, so stale.
  const t0Wall = Date.now();
  const esbuild = await import('esbuild');
  // Built aside and renamed in: a `boxlab` starting meanwhile sees the old dist/ or the new one, never half of one.
  const tmp = `${out}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const r = await esbuild.build({
    entryPoints: { main: join(root, 'server/cli/main.ts') },
    outdir: tmp,
    bundle: true,
    // Lazy `await import()` stays lazy: `boxlab run` never loads the web server, next, ws or better-sqlite3.
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Native addons (koffi, better-sqlite3), next and every other package load from node_modules as they are.
    packages: 'external',
    chunkNames: '[name]-[hash]',
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
    plugins: [importMetaPlugin],
  });
  const inputs = Object.keys(r.metafile.inputs).map((p) => relative(root, join(process.cwd(), p)));
  writeFileSync(join(tmp, STAMP), JSON.stringify({ builtAt: t0Wall, inputs }) + '\n');
  // `sudo npm start`/`sudo npm test` rebuild as root: hand dist/ to the checkout's owner, or their next
  // `npm install` could not replace it.
  if (process.getuid?.() === 0) {
    const { uid, gid } = statSync(root);
    for (const f of ['', ...readdirSync(tmp)]) chownSync(join(tmp, f), uid, gid);
  }
  const old = `${out}.old-${process.pid}`;
  try {
    renameSync(out, old);
  } catch {
    // No previous build.
  }
  renameSync(tmp, out);
  rmSync(old, { recursive: true, force: true });
  if (!quiet) {
    const bytes = Object.values(r.metafile.outputs).reduce((s, o) => s + o.bytes, 0);
    console.error(
      `[dist] ${inputs.length} sources -> dist/ (${(bytes / 1024).toFixed(0)} KiB) in ${(performance.now() - t0).toFixed(0)} ms`,
    );
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const ifNeeded = process.argv.includes('--if-needed');
  if (ifNeeded && !distStale(root)) process.exit(0);
  await buildDist({ ifNeeded });
}
