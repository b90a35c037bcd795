// Unit tests of the pure cgroup v2 path over a fake cgroupfs: delegation, internal-process rule, limits, stats, kill.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { SandboxError } from '../types.ts';
import { FakeKernel, type FakeOptions } from './fake-kernel.ts';
import { createCgroups, sweepCgroups, type CgroupOptions } from './index.ts';
import { chainFromRoot } from './v2.ts';

const fx = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const OWN = '/sys/fs/cgroup/system.slice/boxlab.service';
const LIM = { memoryBytes: 64 * 2 ** 20, cpuFraction: 0.25, pids: 20 };

/** systemd-like tree: root delegates cpu/memory/pids, system.slice only memory/pids, our service holds 2 processes. */
async function v2Fake(t: { after(fn: () => Promise<void>): void }, opts: FakeOptions = {}) {
  const k = await FakeKernel.create([{ mount: '/sys/fs/cgroup', kind: 'v2' }], opts);
  t.after(() => k.cleanup());
  await k.setRel('/sys/fs/cgroup/cgroup.subtree_control', 'cpu memory pids\n');
  await k.mkcg('/sys/fs/cgroup/system.slice');
  await k.setRel('/sys/fs/cgroup/system.slice/cgroup.subtree_control', 'memory pids\n');
  await k.mkcg(OWN);
  await k.place(OWN, 100);
  await k.place(OWN, 101);
  await k.place('/sys/fs/cgroup', 1);
  const o: CgroupOptions = { mountinfo: fx('v2-mountinfo.txt'), selfCgroup: fx('v2-cgroup.txt'), fsRoot: k.root, io: k.io };
  return { k, o };
}

const rel = (w: { path: string; data: string }) => `${w.path}=${w.data}`;

test('chainFromRoot lists every cgroup from the mount root down', () => {
  assert.deepEqual(chainFromRoot('/r', '/r/a/b'), ['/r', '/r/a', '/r/a/b']);
  assert.deepEqual(chainFromRoot('/r', '/r'), ['/r']);
  assert.throws(() => chainFromRoot('/r', '/x'), /not under/);
});

test('v2: enables controllers down the chain, moves our processes to <own>/server, writes exact limits', async (t) => {
  const { k, o } = await v2Fake(t);
  const set = await createCgroups('box1', LIM, o);
  assert.equal(set.version, 2);
  const dir = path.join(k.root, OWN, 'boxlab/box1');
  assert.deepEqual(set.paths, { memory: dir, cpu: dir, pids: dir });
  assert.deepEqual(k.writes.map(rel), [
    // system.slice lacked cpu; the root already had everything, so it is not written.
    '/sys/fs/cgroup/system.slice/cgroup.subtree_control=+cpu',
    // No internal process constraint: our service holds processes, so they go to a leaf first.
    `${OWN}/server/cgroup.procs=100`,
    `${OWN}/server/cgroup.procs=101`,
    `${OWN}/cgroup.subtree_control=+memory +cpu +pids`,
    `${OWN}/boxlab/cgroup.subtree_control=+memory +cpu +pids`,
    `${OWN}/boxlab/box1/memory.max=67108864`,
    `${OWN}/boxlab/box1/memory.swap.max=0`,
    `${OWN}/boxlab/box1/cpu.max=25000 100000`,
    `${OWN}/boxlab/box1/pids.max=20`,
  ]);
  assert.equal(await k.readRel(`${OWN}/cgroup.procs`), '');
  assert.equal(await k.readRel(`${OWN}/server/cgroup.procs`), '100\n101');
  assert.equal(await k.readRel('/sys/fs/cgroup/cgroup.procs'), '1', 'processes outside our cgroup untouched');
  assert.equal(await k.readRel(`${OWN}/boxlab/box1/cpu.max`), '25000 100000');

  k.writes.length = 0;
  const set2 = await createCgroups('box2', { memoryBytes: 2 ** 20, cpuFraction: 1, pids: 5 }, o);
  assert.deepEqual(k.writes.map(rel), [
    `${OWN}/boxlab/box2/memory.max=1048576`,
    `${OWN}/boxlab/box2/memory.swap.max=0`,
    `${OWN}/boxlab/box2/cpu.max=100000 100000`,
    `${OWN}/boxlab/box2/pids.max=5`,
  ], 'second box: delegation already in place');
  await set.remove();
  await set2.remove();
  await set2.remove();
  await assert.rejects(fsp.stat(dir), { code: 'ENOENT' });
  assert.ok((await fsp.stat(path.join(k.root, OWN, 'server'))).isDirectory(), 'server leaf kept: we live there');
});

test('v2: own cgroup = root is exempt from the internal process rule', async (t) => {
  const { k, o } = await v2Fake(t, { swap: false });
  await k.setRel('/sys/fs/cgroup/cgroup.subtree_control', 'memory\n');
  const set = await createCgroups('box1', LIM, { ...o, selfCgroup: '0::/\n' });
  assert.equal(set.paths.memory, path.join(k.root, '/sys/fs/cgroup/boxlab/box1'));
  assert.deepEqual(k.writes.map(rel), [
    '/sys/fs/cgroup/cgroup.subtree_control=+cpu +pids',
    '/sys/fs/cgroup/boxlab/cgroup.subtree_control=+memory +cpu +pids',
    '/sys/fs/cgroup/boxlab/box1/memory.max=67108864',
    '/sys/fs/cgroup/boxlab/box1/cpu.max=25000 100000',
    '/sys/fs/cgroup/boxlab/box1/pids.max=20',
  ]);
  assert.equal(await k.readRel('/sys/fs/cgroup/cgroup.procs'), '1');
  await set.remove();
});

test('v2: a populated ancestor above us refuses delegation: clear error, nothing left behind', async (t) => {
  const { k, o } = await v2Fake(t);
  await k.place('/sys/fs/cgroup/system.slice', 50);
  await assert.rejects(createCgroups('box1', LIM, o), (e: unknown) => {
    assert.ok(e instanceof SandboxError);
    assert.equal(e.info.stage, 'cgroup_create');
    assert.equal(e.info.code, 'EBUSY');
    assert.equal(e.info.path, path.join(k.root, '/sys/fs/cgroup/system.slice/cgroup.subtree_control'));
    assert.match(e.message, /cgroup still has processes/);
    return true;
  });
  await assert.rejects(fsp.stat(path.join(k.root, OWN, 'boxlab')), { code: 'ENOENT' });
  assert.equal(await k.readRel(`${OWN}/cgroup.procs`), '100\n101', 'nothing moved');
});

test('v2: stats parsing', async (t) => {
  const { k, o } = await v2Fake(t);
  const set = await createCgroups('box1', LIM, o);
  const d = `${OWN}/boxlab/box1`;
  await k.setRel(`${d}/memory.current`, '5000\n');
  await k.setRel(`${d}/memory.events`, 'low 0\nhigh 0\nmax 9\noom 2\noom_kill 1\noom_group_kill 0\n');
  await k.setRel(`${d}/memory.swap.current`, '0\n');
  await k.setRel(`${d}/cpu.stat`, 'usage_usec 777\nuser_usec 700\nsystem_usec 77\nnr_periods 10\nnr_throttled 2\nthrottled_usec 333\n');
  await k.setRel(`${d}/pids.current`, '2\n');
  assert.deepEqual(await set.stats(), {
    memory: { current: 5000, limit: 67108864, oomKills: 1, swapCurrent: 0 },
    cpu: { usageUsec: 777, quotaFraction: 0.25, nrThrottled: 2, throttledUsec: 333 },
    pids: { current: 2, max: 20 },
    cgroupVersion: 2,
  });
  await set.remove();
});

test('v2: killAll uses cgroup.kill, then remove succeeds', async (t) => {
  const { k, o } = await v2Fake(t);
  const set = await createCgroups('box1', LIM, o);
  await set.addProcess(200);
  await set.addProcess(201);
  assert.deepEqual(await set.procs(), [200, 201]);
  await set.killAll();
  assert.deepEqual(k.killed, [200, 201]);
  assert.ok(k.writes.some((w) => w.path.endsWith('box1/cgroup.kill') && w.data === '1'));
  await set.remove();
});

test('v2 without cgroup.kill (< 5.14): freeze, SIGKILL each, unfreeze', async (t) => {
  const { k, o } = await v2Fake(t, { cgroupKill: false });
  const set = await createCgroups('box1', LIM, o);
  await set.addProcess(300);
  await set.killAll();
  assert.deepEqual(k.killed, [300]);
  assert.deepEqual(k.writes.filter((w) => w.path.endsWith('cgroup.freeze')).map((w) => w.data), ['1', '0']);
  const removed = await sweepCgroups(o);
  assert.deepEqual(removed, [path.join(k.root, OWN, 'boxlab/box1')]);
});
