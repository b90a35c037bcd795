// Unit tests of lab mode's delegated box subtree over a fake cgroupfs: the move into init/, the files handed over,
// and kill/remove/sweep of a box whose learner made cgroups of its own.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { FakeKernel } from './testing/fake-kernel.ts';
import { createCgroups, sweepCgroups } from './index.ts';
import { fakeSystemd, MNT, optsFor } from './testing/fake-systemd.ts';
import { MAX_DEPTH, MAX_DESCENDANTS, MOVE_DEADLINE_MS } from './delegate-box.ts';

const LIM = { memoryBytes: 64 * 2 ** 20, cpuFraction: 0.25, pids: 20 };
const BOX = `${MNT}/boxlab/box1`;
type T = { after(fn: () => Promise<void>): void };

async function v2Box(t: T) {
  const k = await FakeKernel.create([{ mount: MNT, kind: 'v2' }]);
  t.after(() => k.cleanup());
  await k.place(MNT, 100);
  const o = optsFor(k, fakeSystemd(k, 100, new Set(), false));
  const set = await createCgroups('box1', LIM, o);
  // The namespaced parent and PID 1, as the engine leaves them when PID 1 runs.
  await set.addProcess(200);
  await set.addProcess(201);
  return { k, o, set };
}

test('delegate: processes move to init/, children get the box controllers, only the delegation files change owner', async (t) => {
  const { k, set } = await v2Box(t);
  const d = await set.delegate(1_000_000, 1_000_000);
  assert.deepEqual(d, { controllers: ['memory', 'pids', 'cpu'], moved: [200, 201] });
  assert.equal(await k.readRel(`${BOX}/cgroup.procs`), '', 'no process left in the box itself (no internal processes)');
  assert.equal(await k.readRel(`${BOX}/init/cgroup.procs`), '200\n201');
  assert.equal(await k.readRel(`${BOX}/cgroup.subtree_control`), 'memory pids cpu');
  assert.equal(await k.readRel(`${BOX}/cgroup.max.descendants`), String(MAX_DESCENDANTS));
  assert.equal(await k.readRel(`${BOX}/cgroup.max.depth`), String(MAX_DEPTH));
  const owned = k.chowned.map((c) => `${path.relative(BOX, c.path)}:${c.uid}`).sort();
  assert.deepEqual(
    owned,
    [
      ':1000000',
      'cgroup.procs:1000000',
      'cgroup.subtree_control:1000000',
      'cgroup.threads:1000000',
      'init/cgroup.procs:1000000',
      'init/cgroup.subtree_control:1000000',
      'init/cgroup.threads:1000000',
      'init:1000000',
    ].sort(),
  );
  // The limits stay root's: the box cannot raise them.
  for (const f of ['memory.max', 'cpu.max', 'pids.max', 'cgroup.max.depth', 'cgroup.max.descendants']) {
    assert.ok(!k.chowned.some((c) => c.path.endsWith(`/${f}`)), f);
  }
  assert.deepEqual(await set.procs(), [200, 201], 'procs() sees the subtree');
});

test('delegate: a process forked during the move is moved in the next round', async (t) => {
  const { k, set } = await v2Box(t);
  let forked = false;
  const io = k.io;
  const write = io.write;
  io.write = async (p, data) => {
    await write(p, data);
    if (!forked && p.endsWith('/init/cgroup.procs')) {
      forked = true;
      await k.place(BOX, 202); // a child of 200 forked before 200 moved
    }
  };
  const d = await set.delegate(7, 7);
  assert.deepEqual(d?.moved, [200, 201, 202]);
  assert.equal(await k.readRel(`${BOX}/cgroup.procs`), '');
});

test('a learner subtree: killAll kills every level, remove rmdirs the children deepest first, the sweep too', async (t) => {
  const { k, o, set } = await v2Box(t);
  await set.delegate(7, 7);
  await k.mkcg(`${BOX}/mine/inner`);
  await k.place(`${BOX}/mine/inner`, 300);
  await k.setRel(`${BOX}/mine/memory.max`, '16777216\n');
  const sub = await set.subtree();
  assert.deepEqual(sub.map((s) => s.path).sort(), ['init', 'mine', 'mine/inner']);
  assert.equal(sub.find((s) => s.path === 'mine')?.memoryMax, 16 * 2 ** 20);
  assert.deepEqual(sub.find((s) => s.path === 'mine/inner')?.procs, [300]);
  assert.deepEqual(await set.procs(), [200, 201, 300]);
  await set.killAll();
  assert.deepEqual([...k.killed].sort(), [200, 201, 300]);
  await set.remove();
  assert.deepEqual(
    (await k.tree(MNT)).filter((d) => d.startsWith(BOX)),
    [],
  );

  // After a crash: a dead box's learner cgroups do not stop the sweep.
  const set2 = await createCgroups('box2', LIM, o);
  await set2.addProcess(400);
  await set2.delegate(7, 7);
  await k.mkcg(`${MNT}/boxlab/box2/a/b`);
  const removed = await sweepCgroups({ ...o, filter: () => true });
  assert.deepEqual(removed, [path.join(k.root, MNT, 'boxlab/box2')]);
  assert.deepEqual(
    (await k.tree(MNT)).filter((d) => d.includes('box2')),
    [],
  );
});

test('delegate: an exiting task that stays listed delays the move, then the box gets no subtree (nothing chowned)', async (t) => {
  const { k, set } = await v2Box(t);
  const io = k.io;
  const write = io.write;
  // pid 201 is exiting: the kernel accepts the write and leaves it where it is (PF_EXITING).
  io.write = async (p, data) => {
    if (p.endsWith('/init/cgroup.procs') && data === '201') return;
    await write(p, data);
  };
  const t0 = Date.now();
  const d = await set.delegate(7, 7);
  assert.match(d?.skipped ?? '', /1 process\(es\) still in the box cgroup/);
  assert.ok(Date.now() - t0 >= MOVE_DEADLINE_MS - 50, 'it waited for the task to go');
  assert.equal(k.chowned.length, 0, 'nothing handed over');
  assert.equal(await k.readRel(`${BOX}/cgroup.subtree_control`), '', 'no controller enabled for children');
});

test('delegate: an exiting task that goes away in time does not stop the delegation', async (t) => {
  const { k, set } = await v2Box(t);
  const io = k.io;
  const write = io.write;
  let tries = 0;
  io.write = async (p, data) => {
    if (p.endsWith('/init/cgroup.procs') && data === '201' && tries++ < 3) return; // still exiting
    if (p.endsWith('/init/cgroup.procs') && data === '201') return void (await k.setRel(`${BOX}/cgroup.procs`, '')); // gone
    await write(p, data);
  };
  const d = await set.delegate(7, 7);
  assert.equal(d?.skipped, undefined);
  assert.deepEqual(d?.controllers, ['memory', 'pids', 'cpu']);
});
