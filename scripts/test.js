// test.js: `npm test`: unit tests (no root), then privileged tests with real sandboxes (root), then e2e in Chromium.
// Prints one closing line over all phases: "N passed, N failed, N skipped".
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const SKIP_DIRS = new Set(['node_modules', '.next', 'out', '.git', 'native-bindings/build']);
const args = process.argv.slice(2);
const only = args.find((a) => !a.startsWith('-'));
const phases = (args.find((a) => a.startsWith('--phases=')) ?? '--phases=unit,root,e2e').slice(9).split(',');

function walk(dir, out = []) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (!SKIP_DIRS.has(e.name) && !SKIP_DIRS.has(relative(root, p))) walk(p, out);
    } else out.push(relative(root, p));
  }
  return out;
}

const files = walk(root)
  .filter((f) => !only || f.includes(only))
  .sort();
const unit = files.filter((f) => f.endsWith('.test.ts') && !f.endsWith('.root.test.ts') && !f.startsWith('e2e/'));
const privileged = files.filter((f) => f.endsWith('.root.test.ts'));
const e2e = files.filter((f) => f.startsWith('e2e/') && f.endsWith('.e2e.ts'));
// Only when asked for (`npm run test:cluster`, CI): HAProxy and three nodes in network namespaces (docs/cluster.md).
const cluster = files.filter((f) => f.startsWith('e2e/') && f.endsWith('.cluster.ts'));
const isRoot = process.getuid?.() === 0;
const totals = { pass: 0, fail: 0, skip: 0 };
const tmp = mkdtempSync(join(tmpdir(), 'boxlab-test-'));

function runPhase(name, list, extra = []) {
  if (!list.length) return;
  console.log(`\n=== ${name}: ${list.length} files ===`);
  const tap = join(tmp, `${name}.tap`);
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      ...extra,
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      '--test-reporter=tap',
      `--test-reporter-destination=${tap}`,
      ...list,
    ],
    { cwd: root, stdio: 'inherit', env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' } },
  );
  const text = existsSync(tap) ? readFileSync(tap, 'utf8') : '';
  const count = (k) => Number((text.match(new RegExp(`^# ${k} (\\d+)$`, 'm')) ?? [])[1] ?? 0);
  const pass = count('pass');
  const fail = count('fail') + count('cancelled');
  const skip = count('skipped') + count('todo');
  totals.pass += pass;
  totals.fail += fail || (r.status !== 0 && !fail ? 1 : 0);
  totals.skip += skip;
  console.log(`=== ${name}: ${pass} passed, ${fail} failed, ${skip} skipped (exit ${r.status}) ===`);
}

/** The e2e and cluster tests load the built page: build it when a source is newer. */
async function ensureWebBundle() {
  const { buildWebBundle, webBundleStale } = await import('tsx/esm/api').then(({ register }) => {
    register();
    return import('../server/cli/serve.ts');
  });
  if (webBundleStale()) await buildWebBundle();
}

// The CLI tests run bin/boxlab.js, which runs dist/: build it once here rather than in concurrent test processes.
spawnSync(process.execPath, [join(root, 'scripts', 'build-dist.js'), '--if-needed'], { cwd: root, stdio: 'inherit' });
if (phases.includes('unit')) runPhase('unit', unit);
if (phases.includes('root')) {
  if (isRoot) runPhase('root', privileged, ['--test-concurrency=1']);
  else console.log(`\n=== root: ${privileged.length} files not run: not root (run: sudo npm test) ===`);
}
if (phases.includes('e2e') && e2e.length) {
  if (!existsSync('/usr/bin/chromium')) {
    console.log('\n=== e2e: not run: /usr/bin/chromium missing (apt-get install chromium) ===');
    totals.fail += 1;
  } else if (!isRoot) {
    console.log('\n=== e2e: not run: the real server needs root (run: sudo npm test) ===');
  } else {
    await ensureWebBundle();
    runPhase('e2e', e2e, ['--test-concurrency=1']);
  }
}
if (phases.includes('cluster')) {
  if (!isRoot) {
    console.log('\n=== cluster: not run: network namespaces and real nodes need root (run: sudo npm run test:cluster) ===');
    totals.fail += 1;
  } else {
    // The Chromium step loads the page the nodes serve.
    await ensureWebBundle();
    runPhase('cluster', cluster, ['--test-concurrency=1']);
  }
}
rmSync(tmp, { recursive: true, force: true });
console.log(`\n${totals.pass} passed, ${totals.fail} failed, ${totals.skip} skipped`);
process.exitCode = totals.fail ? 1 : 0;
