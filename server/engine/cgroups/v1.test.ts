// Unit tests of the v1/hybrid path over a fake cgroupfs laid out like this host (recorded /proc texts).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { SandboxError } from '../types.ts';
import { FakeKernel } from './testing/fake-kernel.ts';
import { createCgroups, openCgroups, sweepCgroups, type CgroupOptions } from './index.ts';

const fx = (name: string) => readFileSync(new URL(`./testing/fixtures/${name}`, import.meta.url), 'utf8');
const OWN_MEM = '/sys/fs/cgroup/memory/process_api/e2b0110824a7f4401049d848c041fe93';
const LIM = { memoryBytes: 64 * 2 ** 20, cpuFraction: 0.25, pids: 20 };

async function hostFake(t: { after(fn: () => Promise<void>): void }, opts = {}) {
  const ctl = ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids'];
  const k = await FakeKernel.create(
    [...ctl.map((c) => ({ mount: `/sys/fs/cgroup/${c}`, kind: [c] })), { mount: '/sys/fs/cgroup/unified', kind: 'v2' as const }],
    opts,
  );
  t.after(() => k.cleanup());
  await k.setRel('/sys/fs/cgroup/unified/cgroup.controllers', 'hugetlb\n');
  await k.mkcg(OWN_MEM);
  const o: CgroupOptions = { mountinfo: fx('host-v1-mountinfo.txt'), selfCgroup: fx('host-v1-cgroup.txt'), fsRoot: k.root, io: k.io };
  return { k, o };
}

const leaf = (k: FakeKernel, rel: string) => path.join(k.root, rel);
const boxWrites = (k: FakeKernel, id: string) =>
  k.writes.filter((w) => w.path.includes(`/boxlab/${id}/`)).map((w) => `${w.path.replace(/^.*\/boxlab\//, '')}=${w.data}`);

test("v1: nests under each controller's own cgroup and writes exact limits", async (t) => {
  const { k, o } = await hostFake(t, { oomKillDisable: 1 });
  const set = await createCgroups('box1', LIM, o);
  assert.equal(set.version, 1);
  assert.deepEqual(set.paths, {
    memory: leaf(k, `${OWN_MEM}/boxlab/box1`),
    cpu: leaf(k, '/sys/fs/cgroup/cpu/boxlab/box1'),
    cpuacct: leaf(k, '/sys/fs/cgroup/cpuacct/boxlab/box1'),
    pids: leaf(k, '/sys/fs/cgroup/pids/boxlab/box1'),
    freezer: leaf(k, '/sys/fs/cgroup/freezer/boxlab/box1'),
  });
  assert.deepEqual(boxWrites(k, 'box1'), [
    'box1/memory.oom_control=0',
    'box1/memory.limit_in_bytes=67108864',
    'box1/memory.memsw.limit_in_bytes=67108864',
    'box1/cpu.cfs_period_us=100000',
    'box1/cpu.cfs_quota_us=25000',
    'box1/pids.max=20',
  ]);
  assert.equal(k.writes.filter((w) => w.path.includes('unified')).length, 0, 'hugetlb-only cgroup2 untouched');
  for (const d of Object.values(set.paths)) assert.ok((await fsp.stat(d!)).isDirectory());
  assert.equal(await k.readRel(`${OWN_MEM}/boxlab/box1/memory.memsw.limit_in_bytes`), '67108864');
  await set.remove();
});

test('v1: without swap accounting memsw is skipped', async (t) => {
  const { k, o } = await hostFake(t, { swap: false });
  const set = await createCgroups('box1', { memoryBytes: 2 ** 30, cpuFraction: 2, pids: 1 }, o);
  assert.deepEqual(boxWrites(k, 'box1'), [
    'box1/memory.oom_control=0',
    'box1/memory.limit_in_bytes=1073741824',
    'box1/cpu.cfs_period_us=100000',
    'box1/cpu.cfs_quota_us=200000',
    'box1/pids.max=1',
  ]);
  const st = await set.stats();
  assert.equal(st.memory.swapCurrent, undefined);
  await set.remove();
});

test('v1: addProcess, procs and stats parsing (ns -> µs)', async (t) => {
  const { k, o } = await hostFake(t);
  const set = await createCgroups('box1', LIM, o);
  await set.addProcess(4242);
  for (const d of Object.values(set.paths)) assert.equal((await fsp.readFile(path.join(d!, 'cgroup.procs'), 'utf8')).trim(), '4242');
  assert.deepEqual(await set.procs(), [4242]);
  await k.setRel(`${OWN_MEM}/boxlab/box1/memory.usage_in_bytes`, '1234\n');
  await k.setRel(`${OWN_MEM}/boxlab/box1/memory.memsw.usage_in_bytes`, '1334\n');
  await k.setRel(`${OWN_MEM}/boxlab/box1/memory.oom_control`, 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n');
  await k.setRel('/sys/fs/cgroup/cpuacct/boxlab/box1/cpuacct.usage', '5000000123\n');
  await k.setRel('/sys/fs/cgroup/cpu/boxlab/box1/cpu.stat', 'nr_periods 40\nnr_throttled 7\nthrottled_time 9000000\nnr_bursts 0\n');
  await k.setRel('/sys/fs/cgroup/pids/boxlab/box1/pids.current', '3\n');
  await k.setRel('/sys/fs/cgroup/pids/boxlab/box1/pids.events', 'max 4\n');
  assert.deepEqual(await set.stats(), {
    memory: { current: 1234, limit: 67108864, oomKills: 2, swapCurrent: 100 },
    cpu: { usageUsec: 5000000, quotaFraction: 0.25, nrThrottled: 7, throttledUsec: 9000 },
    pids: { current: 3, max: 20, refused: 4 },
    cgroupVersion: 1,
  });
  await assert.rejects(set.addProcess(-1), /invalid pid/);
});

test('v1: killAll freezes, SIGKILLs every pid, thaws, until empty', async (t) => {
  const { k, o } = await hostFake(t);
  const set = await createCgroups('box1', LIM, o);
  await set.addProcess(101);
  await set.addProcess(102);
  await set.killAll();
  assert.deepEqual([...k.killed].sort(), [101, 102]);
  assert.deepEqual(await set.procs(), []);
  const fr = k.writes.filter((w) => w.path.endsWith('freezer.state')).map((w) => w.data);
  assert.deepEqual(fr, ['FROZEN', 'THAWED'], 'kills land while frozen, die on thaw');
  await set.remove();
  for (const d of Object.values(set.paths)) await assert.rejects(fsp.stat(d!), { code: 'ENOENT' });
});

test('v1: killAll is bounded and leaves the box thawed', async (t) => {
  const { k, o } = await hostFake(t);
  const immortal = { ...k.io, kill: () => {} };
  const set = await createCgroups('box1', LIM, { ...o, io: immortal, killTimeoutMs: 60 });
  await set.addProcess(7);
  const t0 = performance.now();
  await assert.rejects(set.killAll(), (e: unknown) => {
    assert.ok(e instanceof SandboxError);
    assert.equal(e.info.code, 'ETIMEDOUT');
    assert.match(e.message, /1 process\(es\) of sandbox box1 survived SIGKILL for 60 ms: 7/);
    return true;
  });
  assert.ok(performance.now() - t0 < 2000);
  assert.equal(await k.readRel('/sys/fs/cgroup/freezer/boxlab/box1/freezer.state'), 'THAWED');
});

test('v1: remove is idempotent, retries EBUSY, stays inside boxlab/', async (t) => {
  const { k, o } = await hostFake(t);
  const keep = await createCgroups('keep', LIM, o);
  const set = await createCgroups('box1', LIM, o);
  k.busy.set('/sys/fs/cgroup/pids/boxlab/box1', 3);
  await set.remove();
  assert.equal(k.busy.get('/sys/fs/cgroup/pids/boxlab/box1'), 0, 'EBUSY was retried 3 times');
  for (const d of Object.values(set.paths)) await assert.rejects(fsp.stat(d!), { code: 'ENOENT' });
  await set.remove();
  assert.ok((await fsp.stat(leaf(k, '/sys/fs/cgroup/pids/boxlab'))).isDirectory(), 'parent kept while another box uses it');
  const again = await openCgroups('box1', o);
  await again.remove();
  await keep.remove();
  await assert.rejects(fsp.stat(leaf(k, '/sys/fs/cgroup/pids/boxlab')), { code: 'ENOENT' }, 'v1 parent goes with the last box');
  assert.ok((await fsp.stat(leaf(k, OWN_MEM))).isDirectory(), 'our own cgroup is never removed');

  const stuck = await createCgroups('box2', LIM, { ...o, removeTimeoutMs: 50 });
  k.busy.set('/sys/fs/cgroup/cpu/boxlab/box2', 1e9);
  await assert.rejects(
    stuck.remove(),
    (e: unknown) => e instanceof SandboxError && e.info.code === 'EBUSY' && e.info.syscall === 'rmdir' && e.info.stage === 'cgroup_remove',
  );
  k.busy.clear();
  await stuck.remove();
  await assert.rejects(openCgroups('../etc', o), /must be 1-128 chars/);
  await assert.rejects(createCgroups('a/b', LIM, o), /must be 1-128 chars/);
});

test('v1: create refuses an existing box and never removes it', async (t) => {
  const { k, o } = await hostFake(t);
  await k.mkcg('/sys/fs/cgroup/pids/boxlab/dup');
  await assert.rejects(
    createCgroups('dup', LIM, o),
    (e: unknown) => e instanceof SandboxError && e.info.code === 'EEXIST' && /already exists/.test(e.message),
  );
  assert.ok((await fsp.stat(leaf(k, '/sys/fs/cgroup/pids/boxlab/dup'))).isDirectory());
  await assert.rejects(fsp.stat(leaf(k, `${OWN_MEM}/boxlab/dup`)), { code: 'ENOENT' }, 'the half-made box was undone');
});

test('v1: a symlinked cgroup file is refused (O_NOFOLLOW) and the partial box undone', async (t) => {
  const { k, o } = await hostFake(t);
  const target = path.join(k.root, 'victim');
  await fsp.writeFile(target, 'untouched');
  const io = {
    ...k.io,
    mkdir: async (p: string) => {
      await k.io.mkdir(p);
      if (p.endsWith('/pids/boxlab/evil')) {
        await fsp.rm(path.join(p, 'pids.max'));
        await fsp.symlink(target, path.join(p, 'pids.max'));
      }
    },
    rmdir: (p: string) => fsp.rm(p, { recursive: true }),
  };
  await assert.rejects(createCgroups('evil', LIM, { ...o, io }), (e: unknown) => {
    assert.ok(e instanceof SandboxError);
    assert.equal(e.info.code, 'ELOOP');
    assert.equal(e.info.stage, 'cgroup_create');
    assert.equal(e.info.path, path.join(k.root, '/sys/fs/cgroup/pids/boxlab/evil/pids.max'));
    return true;
  });
  assert.equal(await fsp.readFile(target, 'utf8'), 'untouched');
  for (const c of ['cpu', 'pids', 'freezer'])
    await assert.rejects(fsp.stat(leaf(k, `/sys/fs/cgroup/${c}/boxlab/evil`)), { code: 'ENOENT' });
});

test('v1: sweepCgroups kills and removes leftovers (filter honoured), then empty parents', async (t) => {
  const { k, o } = await hostFake(t);
  const a = await createCgroups('t-a', LIM, o);
  await createCgroups('t-b', LIM, o);
  const other = await createCgroups('other', LIM, o);
  await a.addProcess(555);
  const removed = await sweepCgroups({ ...o, filter: (id) => id.startsWith('t-') });
  assert.equal(removed.length, 10, '5 hierarchies x 2 boxes');
  assert.ok(removed.every((d) => /\/boxlab\/t-[ab]$/.test(d)));
  assert.deepEqual(k.killed, [555]);
  assert.ok((await fsp.stat(other.paths.memory!)).isDirectory(), 'filtered-out box kept');
  assert.deepEqual(await sweepCgroups(o), Object.values(other.paths));
  await assert.rejects(fsp.stat(leaf(k, '/sys/fs/cgroup/cpu/boxlab')), { code: 'ENOENT' }, 'empty parent removed');
  assert.deepEqual(await sweepCgroups(o), []);
});
