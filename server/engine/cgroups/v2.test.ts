// Unit tests of the pure cgroup v2 path over a fake cgroupfs: the subtree Boxlab owns (systemd unit or /sys/fs/cgroup/boxlab), limits, stats, kill.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { SandboxError } from '../types.ts';
import { FakeKernel, type FakeOptions } from './testing/fake-kernel.ts';
import { createCgroups, pruneOwnParents, sweepCgroups, v2Base } from './index.ts';
import { parseSystemdVersion } from './systemd.ts';
import { fakeSystemd, MNT, optsFor, systemdTree } from './testing/fake-systemd.ts';

const LIM = { memoryBytes: 64 * 2 ** 20, cpuFraction: 0.25, pids: 20 };
const SESSION = `${MNT}/user.slice/user-0.slice/session-1.scope`;
const rel = (w: { path: string; data: string }) => `${w.path}=${w.data}`;
type T = { after(fn: () => Promise<void>): void };

/** A host without systemd (container, busybox init): everyone in `own`, the root delegating cpu/memory/pids. */
async function plainV2(t: T, own = '', opts: FakeOptions = {}) {
  const k = await FakeKernel.create([{ mount: MNT, kind: 'v2' }], opts);
  t.after(() => k.cleanup());
  if (own) await k.mkcg(`${MNT}${own}`);
  await k.place(`${MNT}${own}`, 1);
  await k.place(`${MNT}${own}`, 100);
  const hooks = fakeSystemd(k, 100, new Set(), false);
  return { k, hooks, o: optsFor(k, hooks) };
}

/** The recorded systemd tree, with Boxlab started as pid 700 from the sudo shell of session-1. */
async function onSystemd(t: T, pid = 700, startIn = SESSION) {
  const { k, delegated } = await systemdTree();
  t.after(() => k.cleanup());
  await k.place(startIn, pid);
  const hooks = fakeSystemd(k, pid, delegated);
  return { k, hooks, delegated, o: optsFor(k, hooks) };
}

test('v2 without systemd, own cgroup = root: boxes in /sys/fs/cgroup/boxlab, nothing moved', async (t) => {
  const { k, o } = await plainV2(t, '', { swap: false });
  const set = await createCgroups('box1', LIM, o);
  assert.equal(set.version, 2);
  assert.equal(set.paths.memory, path.join(k.root, MNT, 'boxlab/box1'));
  assert.deepEqual(k.writes.map(rel), [
    `${MNT}/cgroup.subtree_control=+memory +cpu +pids`,
    `${MNT}/boxlab/cgroup.subtree_control=+memory +cpu +pids`,
    `${MNT}/boxlab/box1/memory.max=67108864`,
    `${MNT}/boxlab/box1/cpu.max=25000 100000`,
    `${MNT}/boxlab/box1/pids.max=20`,
  ]);
  assert.equal(await k.readRel(`${MNT}/cgroup.procs`), '1\n100');
  await set.remove();
  await sweepCgroups(o);
  assert.deepEqual(await k.tree(MNT), [], 'the sweep removed /sys/fs/cgroup/boxlab');
});

test('v2 without systemd, own cgroup not the root: the documented subtree, our cgroup untouched', async (t) => {
  const { k, o } = await plainV2(t, '/openrc/boxlab-server');
  await k.setRel(`${MNT}/cgroup.subtree_control`, 'memory pids\n');
  const set = await createCgroups('box1', LIM, o);
  assert.equal(set.paths.pids, path.join(k.root, MNT, 'boxlab/box1'));
  assert.deepEqual(k.writes.filter((w) => w.path.endsWith('subtree_control')).map(rel), [
    `${MNT}/cgroup.subtree_control=+cpu`,
    `${MNT}/boxlab/cgroup.subtree_control=+memory +cpu +pids`,
  ]);
  assert.equal(await k.readRel(`${MNT}/openrc/boxlab-server/cgroup.procs`), '1\n100');
  assert.ok(!k.writes.some((w) => w.path.startsWith(`${MNT}/openrc`)), 'never writes where we were started');
  await set.remove();
});

test('systemd, started from a login session: own transient scope, only our pid moves, six runs never nest', async (t) => {
  const { k, delegated } = await systemdTree();
  t.after(() => k.cleanup());
  const before = await k.tree(MNT);
  const sessionProcs = await k.readRel(`${SESSION}/cgroup.procs`);
  for (let run = 0; run < 6; run++) {
    // Each `boxlab run` is a new process started from the same shell.
    const pid = 700 + run;
    await k.place(SESSION, pid);
    const hooks = fakeSystemd(k, pid, delegated);
    const o = optsFor(k, hooks);
    k.writes.length = 0;
    const set = await createCgroups(`bx-${run}`, LIM, o);
    const unit = `${MNT}/system.slice/boxlab-${pid}.scope`;
    assert.deepEqual(hooks.started, [`boxlab-${pid}.scope`]);
    assert.equal(set.paths.memory, path.join(k.root, unit, 'boxes', `bx-${run}`));
    assert.deepEqual(
      k.writes.map(rel),
      [
        `${unit}/supervisor/cgroup.procs=${pid}`,
        `${unit}/cgroup.subtree_control=+memory +cpu +pids`,
        `${unit}/boxes/cgroup.subtree_control=+memory +cpu +pids`,
        `${unit}/boxes/bx-${run}/memory.max=67108864`,
        `${unit}/boxes/bx-${run}/memory.swap.max=0`,
        `${unit}/boxes/bx-${run}/cpu.max=25000 100000`,
        `${unit}/boxes/bx-${run}/pids.max=20`,
      ],
      'nothing written above the unit (system.slice, the session) and no other pid moved',
    );
    assert.equal(await k.readRel(`${SESSION}/cgroup.procs`), sessionProcs, 'the shell and its siblings stay');
    // A second box of the same process: the tree is ready, only its limits are written.
    k.writes.length = 0;
    const set2 = await createCgroups(`bx-${run}b`, LIM, o);
    assert.ok(
      k.writes.every((w) => w.path.startsWith(`${unit}/boxes/bx-${run}b/`)),
      k.writes.map(rel).join(' '),
    );
    await set.remove();
    await set2.remove();
    // The run ends: the process exits, systemd collects the empty scope and trims its delegated subtree.
    await k.place('/sys/fs/cgroup/init.scope', pid);
    await fsp.rm(k.abs(unit), { recursive: true });
  }
  assert.deepEqual(await k.tree(MNT), before, 'no server/ or boxlab/ levels anywhere');
});

test('systemd, already in a delegated unit (xattr or boxlab name): no new scope, supervisor leaf once', async (t) => {
  const unit = `${MNT}/system.slice/playground.service`;
  const { k, hooks, delegated, o } = await onSystemd(t, 800, SESSION);
  await k.setRel(`${MNT}/system.slice/cgroup.subtree_control`, 'cpu io memory pids\n'); // systemd does this for Delegate=yes
  await k.mkcg(unit);
  await k.place(unit, 800);
  delegated.add(k.abs(unit));
  const base = await v2Base(o);
  assert.equal(base?.kind, 'unit');
  assert.equal(base?.how, 'delegated unit playground.service');
  await createCgroups('b1', LIM, o);
  assert.deepEqual(hooks.started, []);
  assert.equal(await k.whereIs(800, MNT), `${unit}/supervisor`);
  // A restart of the cgroup code in the same process (or a child of the supervisor) sees the same unit.
  assert.equal((await v2Base(o))?.boxesDir, k.abs(`${unit}/boxes`));
  await sweepCgroups(o);

  // Old systemd (< 251) sets no xattr: a unit named boxlab*.service is trusted by name.
  const named = `${MNT}/system.slice/boxlab.service`;
  await k.mkcg(named);
  await k.place(named, 800);
  assert.equal((await v2Base(o))?.how, 'unit boxlab.service (by name)');
});

test('systemd >= 251: a boxlab.service without the delegate xattr is not delegated; it asks for its own scope', async (t) => {
  // Seen under systemd 252 in the guest: boxlab.service without Delegate=yes was taken by name and failed with
  // "cpu not available"; had system.slice offered cpu, Boxlab would have written inside a unit systemd manages.
  const named = `${MNT}/system.slice/boxlab.service`;
  const { k, o, hooks } = await onSystemd(t, 800, SESSION);
  await k.mkcg(named);
  await k.setRel(`${MNT}/system.slice/cgroup.subtree_control`, 'cpu memory pids\n');
  await k.place(named, 800);
  hooks.systemdVersion = 252;
  assert.equal((await v2Base(o))?.how, 'transient scope boxlab-800.scope');
  await createCgroups('b1', LIM, o);
  assert.deepEqual(hooks.started, ['boxlab-800.scope']);
  assert.equal(await k.whereIs(800, MNT), `${MNT}/system.slice/boxlab-800.scope/supervisor`);
  assert.deepEqual(await k.io.listDirs(k.abs(named)), [], 'nothing made inside the undelegated unit');
});

test('parseSystemdVersion: busctl get-property Manager.Version', () => {
  assert.equal(parseSystemdVersion('s "252.39-1~deb12u1"\n'), 252);
  assert.equal(parseSystemdVersion('s "249"'), 249);
  assert.equal(parseSystemdVersion(''), null);
});

test('systemd: another process in our unit is never moved; the error names it and the fix', async (t) => {
  const unit = `${MNT}/system.slice/boxlab.service`;
  const { k, o } = await onSystemd(t, 800, SESSION);
  await k.mkcg(unit);
  await k.setRel(`${MNT}/system.slice/cgroup.subtree_control`, 'cpu memory pids\n');
  await k.place(unit, 800);
  await k.place(unit, 801); // e.g. a wrapper shell the unit's ExecStart left behind
  await assert.rejects(createCgroups('b1', LIM, o), (e: unknown) => {
    assert.ok(e instanceof SandboxError);
    assert.equal(e.info.code, 'EBUSY');
    assert.match(e.message, /holds processes Boxlab did not start \(801\).*cgroup of its own/);
    return true;
  });
  assert.equal(await k.readRel(`${unit}/cgroup.procs`), '801');
  assert.equal(await k.whereIs(800, MNT), `${unit}/supervisor`, 'only our own pid moved');
});

test('systemd: a unit without the controllers delegated, and a failed StartTransientUnit, are one-line errors', async (t) => {
  const unit = `${MNT}/system.slice/boxlab.service`;
  const { k, o, hooks } = await onSystemd(t, 800, SESSION);
  await k.mkcg(unit); // system.slice delegates only memory pids: Delegate=yes was missing
  await k.place(unit, 800);
  await assert.rejects(createCgroups('b1', LIM, o), /controller\(s\) cpu not available in .*boxlab.service: give the unit Delegate=yes/);

  // Our pid's usual scope name is taken (an earlier process's scope outlived it): a second name is used.
  await k.place(SESSION, 800);
  await k.mkcg(`${MNT}/system.slice/boxlab-800.scope`);
  const taken = hooks.startScope.bind(hooks);
  hooks.startScope = async (name, pid) => {
    if (name === 'boxlab-800.scope') throw new Error('Unit boxlab-800.scope already exists.');
    return taken(name, pid);
  };
  const base = await v2Base(o);
  assert.match(base!.how, /^transient scope boxlab-800-[a-z0-9]+\.scope$/);

  await k.place(SESSION, 800);
  hooks.failStart = 'busctl failed: Failed to connect to bus';
  await assert.rejects(v2Base(o), (e: Error) => {
    assert.match(e.message, /not delegated to Boxlab.*Failed to connect to bus.*systemd-run --scope -p Delegate=yes/);
    assert.ok(!e.message.includes('\n'));
    return true;
  });
});

test("sweep: a dead server's scope is emptied for systemd to collect; a live one and legacy busy levels stay", async (t) => {
  // An old version nested the session (server/server, an empty boxlab at each level) and left the sudo
  // shell (613) in the innermost level, so that is where this run starts.
  const { k, o } = await onSystemd(t, 900, SESSION);
  for (const d of [`${SESSION}/boxlab`, `${SESSION}/server`, `${SESSION}/server/boxlab`, `${SESSION}/server/server`]) await k.mkcg(d);
  await k.place(`${SESSION}/server/server`, 613);
  await k.place(`${SESSION}/server/server`, 900);
  // Pid 910 (a dead server) left a box in its scope; pid 920 (a live server) has one too.
  const dead = `${MNT}/system.slice/boxlab-910.scope`;
  const live = `${MNT}/system.slice/boxlab-920.scope`;
  for (const u of [dead, live]) {
    await k.mkcg(`${u}/supervisor`);
    await k.mkcg(`${u}/boxes`);
  }
  await k.mkcg(`${dead}/boxes/bx-dead`);
  await k.place(`${dead}/boxes/bx-dead`, 4000);
  await k.mkcg(`${live}/boxes/bx-live`);
  await k.place(`${live}/boxes/bx-live`, 5000);
  await k.place(`${live}/supervisor`, 920);
  const removed = await sweepCgroups({ ...o, filter: (id) => id === 'bx-dead', recorded: [k.abs(`${dead}/boxes/bx-dead`)] });
  assert.deepEqual(removed, [k.abs(`${dead}/boxes/bx-dead`)]);
  assert.deepEqual(k.killed, [4000]);
  const tree = await k.tree(MNT);
  assert.ok(!tree.some((d) => d.startsWith(dead + '/')), `dead scope emptied: ${tree.join(' ')}`);
  assert.ok(tree.includes(`${live}/boxes/bx-live`) && tree.includes(`${live}/supervisor`), 'live server untouched');
  assert.ok(!tree.includes(`${SESSION}/boxlab`) && !tree.includes(`${SESSION}/server/boxlab`), 'legacy empty boxlab levels removed');
  assert.ok(tree.includes(`${SESSION}/server/server`), 'a legacy level with a user process in it stays');
});

test('v2: stats parsing', async (t) => {
  const { k, o } = await plainV2(t);
  const set = await createCgroups('box1', LIM, o);
  const d = `${MNT}/boxlab/box1`;
  await k.setRel(`${d}/memory.current`, '5000\n');
  await k.setRel(`${d}/memory.events`, 'low 0\nhigh 0\nmax 9\noom 2\noom_kill 1\noom_group_kill 0\n');
  await k.setRel(`${d}/memory.swap.current`, '0\n');
  await k.setRel(`${d}/cpu.stat`, 'usage_usec 777\nuser_usec 700\nsystem_usec 77\nnr_periods 10\nnr_throttled 2\nthrottled_usec 333\n');
  await k.setRel(`${d}/pids.current`, '2\n');
  await k.setRel(`${d}/pids.events`, 'max 0\n');
  assert.deepEqual(await set.stats(), {
    memory: { current: 5000, limit: 67108864, oomKills: 1, swapCurrent: 0 },
    cpu: { usageUsec: 777, quotaFraction: 0.25, nrThrottled: 2, throttledUsec: 333 },
    pids: { current: 2, max: 20, refused: 0 },
    cgroupVersion: 2,
  });
  await set.remove();
});

test('v2: killAll uses cgroup.kill, then remove succeeds', async (t) => {
  const { k, o } = await plainV2(t);
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
  const { k, o } = await plainV2(t, '', { cgroupKill: false });
  const set = await createCgroups('box1', LIM, o);
  await set.addProcess(300);
  await set.killAll();
  assert.deepEqual(k.killed, [300]);
  assert.deepEqual(
    k.writes.filter((w) => w.path.endsWith('cgroup.freeze')).map((w) => w.data),
    ['1', '0'],
  );
  const removed = await sweepCgroups(o);
  assert.deepEqual(removed, [path.join(k.root, MNT, 'boxlab/box1')]);
});

test('v2 subtree: a parent another process pruned between our checks is made and delegated again', async (t) => {
  const { k, o } = await plainV2(t);
  const set = await createCgroups('box1', LIM, o);
  await set.remove();
  await pruneOwnParents(o);
  assert.deepEqual(await k.tree(MNT), [], 'pruned after the last box');
  // Race: just before our leaf mkdir, someone else's prune removes the (empty) parent we had just delegated.
  let raced = false;
  const io = {
    ...k.io,
    mkdir: async (p: string) => {
      if (!raced && p.endsWith('/boxlab/box2')) {
        raced = true;
        await k.io.rmdir(path.dirname(p));
      }
      return k.io.mkdir(p);
    },
  };
  const set2 = await createCgroups('box2', LIM, { ...o, io });
  assert.ok(raced);
  assert.equal(await k.readRel(`${MNT}/boxlab/box2/memory.max`), '67108864');
  assert.equal(await k.readRel(`${MNT}/boxlab/cgroup.subtree_control`), 'memory cpu pids');
  await set2.remove();
});

test('sweep leaves a live sibling unit alone even when it has no box at the moment', async (t) => {
  const { k, o } = await onSystemd(t, 900, SESSION);
  const live = `${MNT}/system.slice/boxlab-920.scope`;
  await k.mkcg(`${live}/boxes`);
  await k.mkcg(`${live}/supervisor`);
  await k.place(`${live}/supervisor`, 920);
  await sweepCgroups({ ...o, filter: () => true });
  assert.ok((await k.tree(MNT)).includes(`${live}/boxes`));
});
