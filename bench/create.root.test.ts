// Root test: a tiny create benchmark run measures every variant and leaves no box, runc container or cgroup behind.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { test } from 'node:test';
import { runCreateBench } from './create.ts';
import { removeRuncCgroups, RUNC_CGROUP_PARENT } from './lib/competitors.ts';

const isRoot = process.getuid?.() === 0;

test('create benchmark: n=3, all variants timed, leak-free', { skip: !isRoot && 'needs root', timeout: 120_000 }, async (t) => {
  t.after(() => void removeRuncCgroups());
  const tmpBefore = new Set(readdirSync(tmpdir()));
  const r = await runCreateBench({ n: 3, gapMs: 0, warmup: 1 });
  for (const key of ['boxlab.create', 'boxlab.exit', 'boxlab.full', 'boxlab-pool.create', 'bwrap', 'runc']) {
    const m = r.metrics[key];
    assert.ok(m, `metric ${key}`);
    assert.equal(m.samples.length, 3, key);
    assert.ok(
      m.samples.every((x) => x > 0 && x < 10_000),
      `${key}: ${m.samples}`,
    );
  }
  // Creation is part of the full cycle, so for every box create <= exit <= full.
  const b = (key: string, i: number) => r.metrics[key]?.samples[i] ?? NaN; // NaN fails every comparison below
  for (let i = 0; i < 3; i++) {
    assert.ok(b('boxlab.create', i) <= b('boxlab.exit', i));
    assert.ok(b('boxlab.exit', i) <= b('boxlab.full', i));
  }
  assert.ok(r.stages.some((s) => s.stage === 'cgroup_attach' && s.duration > 0));
  assert.ok(r.criticalPath.length >= 10);
  assert.deepEqual(r.leftovers, []);
  assert.match(r.markdown, /\| boxlab: createSandbox\(\) resolved/);
  for (const h of readdirSync('/sys/fs/cgroup')) assert.ok(!existsSync(`/sys/fs/cgroup/${h}/${RUNC_CGROUP_PARENT}`), h);
  const newTmp = readdirSync(tmpdir()).filter((d) => !tmpBefore.has(d) && d.startsWith('boxlab-bench-'));
  assert.deepEqual(newTmp, [], 'runc bundle dir removed');
});
