// build-dist.test.ts: several builders started at once on a stale dist/ build it once, and all of them succeed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { distStale, STAMP } from './dist-stamp.js';

const root = join(import.meta.dirname, '..');

const run = (): Promise<{ code: number | null; err: string }> =>
  new Promise((resolve) => {
    const p = spawn(process.execPath, [join(root, 'scripts', 'build-dist.js'), '--if-needed'], { cwd: root });
    let err = '';
    p.stderr.on('data', (b) => (err += b));
    p.on('exit', (code) => resolve({ code, err }));
  });

test('four builders on a stale dist/: one build, every one exits 0, nothing left beside dist/', { timeout: 300_000 }, async (t) => {
  // Make the real dist/ stale the cheapest way: its stamp says it was built at the epoch (every source is newer).
  if (distStale(root)) await run(); // a checkout without dist/ yet: build it first so the stamp exists
  const stampPath = join(root, 'dist', STAMP);
  const stamp = JSON.parse(readFileSync(stampPath, 'utf8'));
  writeFileSync(stampPath, JSON.stringify({ ...stamp, builtAt: 0 }));
  assert.match(String(distStale(root)), /changed after dist\/ was built/);

  const runs = await Promise.all([run(), run(), run(), run()]);
  assert.deepEqual(
    runs.map((r) => r.code),
    [0, 0, 0, 0],
    runs.map((r) => r.err).join('\n'),
  );
  const builds = runs.filter((r) => /\[dist\] \d+ sources -> dist\//.test(r.err)).length;
  assert.equal(builds, 1, `builds: ${builds}\n${runs.map((r) => r.err).join('\n')}`);
  assert.equal(distStale(root), null);
  assert.ok(existsSync(join(root, 'dist', 'main.js')));
  const beside = readdirSync(root).filter((f) => /^dist\.(tmp-|old-|lock)/.test(f));
  assert.deepEqual(beside, []);
  t.diagnostic(`one build by the lock holder; the other three found dist/ current once the lock was free`);
});
