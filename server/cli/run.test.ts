// Unit test of `boxlab run --trace` over the engine's fake kernel: every stage, creation and teardown, printed once.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createSandbox } from '../engine/index.ts';
import { fakeDeps } from '../engine/testing/fake-syscalls.ts';
import { STAGES, type StageEvent } from '../engine/types.ts';
import { openBox } from './run.ts';

test('--trace prints each stage once, teardown included', async (t) => {
  const runDir = mkdtempSync(join(tmpdir(), 'boxlab-trace-'));
  t.after(() => rmSync(runDir, { recursive: true, force: true }));
  const { deps } = fakeDeps(runDir);
  const printed: StageEvent[] = [];
  const box = await openBox(
    { baseDir: '/images/busybox' },
    (e) => printed.push(e),
    (c, o) => createSandbox(c, o, deps),
  );
  await box.destroy();
  const names = printed.map((e) => e.stage);
  const twice = names.filter((n, i) => names.indexOf(n) !== i);
  assert.deepEqual(twice, [], `printed more than once: ${twice.join(' ')}`);
  for (const s of ['prepare_state', 'running', 'namespaced_parent_exit', 'cgroup_remove', 'cleanup_done']) {
    assert.ok(names.includes(s as StageEvent['stage']), `${s} printed`);
  }
  assert.ok(names.every((n) => (STAGES as readonly string[]).includes(n)));
});
