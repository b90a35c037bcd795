// Root test: the C probe builds, measures attach and mkdir in scratch cgroups of every box hierarchy, and cleans up.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Probe, ScratchCgroups, type AttachResult, type ForkResult, type MkdirResult } from './probe.ts';

const isRoot = process.getuid?.() === 0;

test('probe: fork timings, attach seq/par and mkdir in scratch cgroups, nothing left', {
  skip: !isRoot && 'needs root',
  timeout: 60_000,
}, async (t) => {
  const probe = new Probe();
  let scratch: ScratchCgroups | null = null;
  t.after(() => {
    scratch?.remove();
    probe.dispose();
  });
  const f = probe.run<ForkResult>(['fork', 8, 3]);
  assert.equal(f.mb, 8);
  for (const k of ['fork_return', 'fork_reap', 'vfork_reap', 'clone_vm_vfork_reap', 'vfork_exec_helper_reap'] as const) {
    assert.equal(f[k].length, 3, k);
    assert.ok(
      f[k].every((x) => x > 0),
      k,
    );
  }
  scratch = await ScratchCgroups.create();
  assert.deepEqual(scratch.names, ['memory', 'cpu', 'cpuacct', 'pids', 'freezer']);
  for (const mode of ['seq', 'par'] as const) {
    const a: AttachResult = probe.run<AttachResult>(['attach', 4, mode, ...scratch.targets]);
    assert.equal(a.mode, mode);
    assert.equal(a.total.length, 4);
    assert.deepEqual(Object.keys(a.perDir), scratch.targets);
    // The children were reaped: the scratch cgroups are empty again.
    for (const d of scratch.targets) assert.equal(readFileSync(`${d}/cgroup.procs`, 'utf8').trim(), '', d);
  }
  const m = probe.run<MkdirResult>(['mkdir', 3, ...scratch.parents]);
  for (const p of scratch.parents) {
    assert.equal(m.mkdir[p]?.length, 3);
    assert.equal(m.rmdir[p]?.length, 3);
  }
  const dirs = [...scratch.targets, ...scratch.parents];
  scratch.remove();
  scratch = null;
  for (const d of dirs) assert.ok(!existsSync(d), d);
});
