// Unit tests of the stage breakdown over synthetic stage events.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StageEvent, StageName } from '../../server/engine/types.ts';
import { criticalPath, stageRows, type BoxRun } from './breakdown.ts';

const ev = (stage: StageName, t: number, durationMs: number, role: StageEvent['role'] = 'outer'): StageEvent => ({
  type: 'stage',
  stage,
  role,
  hostPid: 1,
  boxPid: null,
  t,
  durationMs,
  ok: true,
});

/** A box whose timeline is known exactly; `k` stretches cgroup_create so medians can be checked. */
function run(k: number): BoxRun {
  return {
    offsetMs: 0.5,
    createMs: 0.5 + 12 + k,
    events: [
      ev('prepare_state', 0, 0.5),
      ev('fork1', 0.5, 1),
      ev('cgroup_create', 1.5, 2 + k),
      ev('upper_tmpfs', 3.5 + k, 0.5),
      ev('unshare_user', 1.6, 0.1, 'namespaced_parent'),
      ev('uid_map', 5 + k, 0.2),
      ev('overlay_mount', 5.2 + k, 0.3),
      ev('cgroup_attach', 5.5 + k, 0.5),
      ev('unshare_ns', 6.1 + k, 0.6, 'namespaced_parent'),
      ev('exec', 9.9 + k, 0.1, 'inner_child'),
      ev('running', 11 + k, 0.5),
      ev('child_exit', 12 + k, 0, 'namespaced_parent'),
    ],
  };
}

test('stage rows: medians of duration and of start since the createSandbox() call, in STAGES order', () => {
  const rows = stageRows([run(0), run(1), run(10)]);
  assert.deepEqual(rows.map((r) => r.stage).slice(0, 5), ['prepare_state', 'fork1', 'cgroup_create', 'upper_tmpfs', 'unshare_user']);
  const cg = rows.find((r) => r.stage === 'cgroup_create')!;
  assert.equal(cg.duration, 3);
  assert.equal(cg.start, 2);
  assert.equal(rows.find((r) => r.stage === 'exec')!.role, 'inner_child');
  assert.equal(
    rows.find((r) => r.stage === 'fork2'),
    undefined,
    'a stage never seen has no row',
  );
});

test('critical path: host stages and the waits between them', () => {
  const seg = Object.fromEntries(criticalPath([run(0)]).map((s) => [s.name, s.ms]));
  assert.equal(seg.setup, 0.5);
  assert.equal(seg.cgroup_create, 2);
  assert.equal(seg['wait unshare_user'], 1); // uid_map at 5, upper_tmpfs ended at 4
  assert.ok(Math.abs((seg['children to exec'] ?? NaN) - 4) < 1e-9); // exec ends 10, attach ended 6
  assert.ok(Math.abs((seg['execve to Node'] ?? NaN) - 1) < 1e-9);
  assert.ok(Math.abs((seg.resolve ?? NaN) - 0.5) < 1e-9); // 12.5 - 0.5 - 11.5
  const total = Object.values(seg).reduce((a, b) => a + b, 0);
  // The synthetic stages touch end to end, so the segments tile the whole createSandbox() time.
  assert.ok(Math.abs(total - run(0).createMs) < 1e-9, `segments add up to createMs: ${total}`);
});

test('critical path skips runs that failed before exec', () => {
  const failed: BoxRun = { offsetMs: 0, createMs: 3, events: [ev('prepare_state', 0, 1), ev('cgroup_create', 1, 2)] };
  assert.deepEqual(criticalPath([failed]), []);
});
