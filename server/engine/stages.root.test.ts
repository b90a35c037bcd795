// Root tests on real boxes: stage events arrive in STAGES order with the right pids and namespaces; a fault at any creation stage leaves nothing.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { after, test } from 'node:test';
import { createSandbox, SandboxError, STAGES, type NamespaceKind, type StageEvent, type StageName } from './index.ts';
import {
  BoxTracker,
  fdCount,
  SKIP_NOT_ROOT,
  stageRecorder,
  testImage,
  within,
  zombieChildren,
  testNoLeftovers,
} from './testing/helpers.ts';

const tracker = new BoxTracker();
after(() => tracker.destroyAll());
const opts = { skip: SKIP_NOT_ROOT, timeout: 120_000 };

const RUNNING = STAGES.indexOf('running');
const CREATION = STAGES.slice(0, RUNNING + 1);
const TEARDOWN = STAGES.slice(RUNNING + 1);
const ROLE: Partial<Record<StageName, string>> = {};
for (const s of ['unshare_user', 'unshare_ns', 'hostname', 'net_lo_up', 'fork2', 'child_exit', 'umount_proc', 'umount_dev'] as const)
  ROLE[s] = 'namespaced_parent';
for (const s of STAGES.slice(STAGES.indexOf('mount_private'), STAGES.indexOf('exec') + 1)) ROLE[s] = 'inner_child';
const hostNs = (k: string) => statSync(`/proc/self/ns/${k}`).ino;

test(
  'stage events: creation stages in STAGES order, inner child = PID 1 at box.pids.init, namespaced parent at its pid, new namespaces',
  opts,
  async (t) => {
    t.after(() => tracker.destroyAll());
    const seen: StageEvent[] = [];
    const box = await tracker.create({}, (e) => seen.push(e));
    const { init, namespacedParent } = box.pids;
    assert.deepEqual(seen, [...box.events], 'onStage and box.events differ');
    // On cgroup v2 the cgroups are made first and the namespaced parent is born in them (clone3 CLONE_INTO_CGROUP).
    const bornInCgroup = /born in its cgroup/.test(seen.find((e) => e.stage === 'fork1')?.detail ?? '');
    const order = bornInCgroup ? ['prepare_state', 'cgroup_create', 'fork1', ...CREATION.slice(3)] : CREATION;
    t.diagnostic(bornInCgroup ? 'cgroup v2: cgroup_create before fork1 (clone3 into the cgroup)' : 'fork1 before cgroup_create (attach)');
    assert.deepEqual(
      seen.map((e) => e.stage),
      order,
      'creation stages missing, repeated or out of order',
    );
    for (const [i, e] of seen.entries()) {
      assert.equal(e.ok, true, `${e.stage} not ok`);
      assert.ok(e.durationMs >= 0 && e.t >= 0, `${e.stage}: t ${e.t} duration ${e.durationMs}`);
      // Each process does its stages one after another; processes overlap (the namespaced parent unshares while
      // the outer parent makes the cgroups), so time order is checked per role, and causality across roles below.
      const prev = seen
        .slice(0, i)
        .filter((p) => p.role === e.role)
        .at(-1);
      if (prev) assert.ok(e.t + 0.001 >= prev.t, `${e.stage} starts before ${prev.stage}`);
      assert.equal(e.role, ROLE[e.stage] ?? 'outer', `role of ${e.stage}`);
      if (e.role === 'inner_child') {
        assert.equal(e.boxPid, 1, `${e.stage} boxPid`);
        assert.equal(e.hostPid, init, `${e.stage} hostPid`);
      } else if (e.role === 'namespaced_parent') {
        assert.equal(e.hostPid, namespacedParent, `${e.stage} hostPid`);
        assert.equal(e.boxPid, null);
      } else {
        assert.ok([process.pid, namespacedParent, init].includes(e.hostPid!), `${e.stage} hostPid ${e.hostPid}`);
      }
    }
    const end = (s: StageName) => seen.find((x) => x.stage === s)!.t + seen.find((x) => x.stage === s)!.durationMs;
    const start = (s: StageName) => seen.find((x) => x.stage === s)!.t;
    assert.ok(start('uid_map') + 0.01 >= end('unshare_user'), 'uid_map waits for the user namespace');
    assert.ok(start('unshare_ns') + 0.01 >= end('cgroup_attach'), 'unshare_ns waits for the go byte');
    assert.notEqual(init, namespacedParent);
    assert.equal(seen.at(-1)!.boxPid, 1);

    const byStage = (s: StageName) => seen.find((e) => e.stage === s)!;
    const userNs = byStage('unshare_user').namespaces ?? {};
    assert.ok(userNs.user && userNs.user !== hostNs('user'), `user ns ${userNs.user} vs host ${hostNs('user')}`);
    const ns = byStage('unshare_ns').namespaces ?? {};
    const live = await box.namespaces();
    for (const k of ['mnt', 'uts', 'ipc', 'net', 'cgroup', 'pid'] as NamespaceKind[]) {
      const got = ns[k] ?? (k === 'pid' ? byStage('fork2').namespaces?.pid : undefined);
      // A missing pid namespace is asserted last, so the rest is still checked (see the next test).
      if (!got && k === 'pid') continue;
      assert.ok(got, `no ${k} namespace reported at unshare_ns`);
      assert.notEqual(got, hostNs(k), `${k} namespace is the host's`);
      assert.equal(live.box[k], got, `PID 1's ${k} namespace differs from the one reported`);
      assert.equal(live.host[k], hostNs(k));
    }
    assert.equal(live.box.user, userNs.user);
    const withNs = ['unshare_user', 'unshare_ns', 'fork2', 'running'];
    for (const s of CREATION) if (!withNs.includes(s)) assert.equal(byStage(s).namespaces, undefined, s);
    t.diagnostic(CREATION.map((s) => `${s} ${byStage(s).durationMs.toFixed(2)}ms`).join(', '));

    await box.destroy();
    const down = box.events.slice(CREATION.length);
    assert.deepEqual(
      down.map((e) => e.stage),
      TEARDOWN,
      'teardown stages missing or out of order',
    );
    assert.ok(
      down.every((e) => e.ok),
      JSON.stringify(down.filter((e) => !e.ok)),
    );
    for (const e of down) if (e.role === 'namespaced_parent') assert.equal(e.hostPid, namespacedParent, e.stage);
    assert.ok(ns.pid ?? byStage('fork2').namespaces?.pid, 'no pid namespace reported at unshare_ns (nor at fork2)');
  },
);

// A new PID namespace has no inode to show until its first process exists: /proc/<pid>/ns/pid_for_children is
// ENOENT before that (pidns_for_children_get in fs/proc/namespaces.c checks child_reaper), so reading it right
// at unshare_ns races with fork2. Five boxes make a lucky pass unlikely.
test('stage events: every box reports its new PID namespace (at unshare_ns, or at fork2 once PID 1 exists)', opts, async (t) => {
  t.after(() => tracker.destroyAll());
  const missing: string[] = [];
  for (let i = 0; i < 5; i++) {
    const box = await tracker.create({});
    const at = (s: StageName) => box.events.find((e) => e.stage === s)?.namespaces?.pid;
    const pid = at('unshare_ns') ?? at('fork2');
    if (!pid) missing.push(box.id);
    else assert.equal(pid, (await box.namespaces()).box.pid);
    await box.destroy();
  }
  assert.deepEqual(missing, [], `no pid namespace reported for ${missing.length} of 5 boxes`);
});

const FAIL_AT = STAGES.slice(0, STAGES.indexOf('exec') + 1);

test('fault injection at each creation stage: SandboxError naming that stage, and nothing left behind', opts, async (t) => {
  t.after(() => tracker.destroyAll());
  const baseDir = await testImage();
  // One box first, so lazily opened fds (koffi, the seccomp filter) are not counted as leaks.
  const first = await tracker.create({});
  await first.destroy();
  // cgroup v2: cgroup_create comes before fork1 (the namespaced parent is born in the box's cgroup).
  const v2 = /born in its cgroup/.test(first.events.find((e) => e.stage === 'fork1')?.detail ?? '');
  const ORDER = v2 ? ['prepare_state', 'cgroup_create', 'fork1', ...STAGES.slice(3)] : [...STAGES];
  const fds0 = fdCount();
  const times: string[] = [];
  for (const stage of FAIL_AT) {
    await t.test(stage, async () => {
      const rec = stageRecorder();
      const t0 = performance.now();
      let err: unknown;
      try {
        const box = await within(
          createSandbox({ baseDir, failAt: stage }, { onStage: rec.onStage }),
          30_000,
          `createSandbox failAt ${stage}`,
        );
        await box.destroy();
      } catch (e) {
        err = e;
      }
      times.push(`${stage} ${(performance.now() - t0).toFixed(0)}ms`);
      assert.ok(err instanceof SandboxError, `failAt ${stage}: no SandboxError but ${String(err)}`);
      const id = (err as { built?: { id?: string } }).built?.id;
      assert.match(id ?? '', /^bx-[0-9a-f]{12}$/, 'the error does not say which sandbox failed');
      const trace = tracker.addFailed(id!, rec.events, rec.starts);
      assert.equal(err.info.stage, stage);
      assert.equal(err.info.syscall, 'injected');
      assert.equal(err.info.code, 'EPERM');
      assert.doesNotMatch(err.message, /\n/);
      const names = rec.events.map((e) => e.stage);
      assert.ok(!names.includes('running'), 'a failed box reported running');
      const failed = rec.events.filter((e) => !e.ok);
      assert.equal(failed[0]?.stage, stage, `first failing event: ${JSON.stringify(failed[0])}`);
      assert.deepEqual(failed[0]?.error?.stage, stage);
      // The stages before the fault all ran, in order.
      assert.deepEqual(names.slice(0, ORDER.indexOf(stage)), ORDER.slice(0, ORDER.indexOf(stage)));
      assert.deepEqual(
        tracker.leaks().filter((l) => l.startsWith(`${trace.id}:`)),
        [],
      );
    });
  }
  t.diagnostic(`time to fail and clean up: ${times.join(', ')}`);
  assert.deepEqual(zombieChildren(), []);
  assert.equal(fdCount(), fds0, 'fds of the server process leaked');
});

testNoLeftovers(tracker, opts);
