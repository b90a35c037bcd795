// engine.test.ts: the engine's logic over the recording fake syscall layer: stage order, errors, teardown order, no leaks.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { SyscallError } from '../../native-bindings/errors.ts';
import { createSandbox } from './index.ts';
import { overlayOptions } from './overlay.ts';
import { uidSlotEntries } from './uid-registry.ts';
import { fakeCgroups, fakeDeps, FAKE_INIT_PID, FAKE_MASTER_FD, FAKE_NP_PID } from './testing/fake-syscalls.ts';
import { SandboxError, STAGES, type StageEvent, type StageName } from './types.ts';
import { MiB } from '../protocol/size.ts';

const CREATION: StageName[] = STAGES.slice(0, STAGES.indexOf('running') + 1) as StageName[];
const TEARDOWN: StageName[] = [
  'child_exit',
  'umount_proc',
  'umount_dev',
  'namespaced_parent_exit',
  'overlay_umount',
  'cgroup_remove',
  'cleanup_done',
];

function setup(t: { after: (fn: () => void) => void }) {
  const runDir = mkdtempSync(join(tmpdir(), 'boxlab-engine-'));
  t.after(() => rmSync(runDir, { recursive: true, force: true }));
  return { runDir, ...fakeDeps(runDir) };
}

const list = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);
const config = { baseDir: '/images/busybox', memoryBytes: 100 * MiB, cpuFraction: 0.5 };

test('creation emits every stage in the documented order, with roles and both pids', async (t) => {
  const { deps } = setup(t);
  const seen: StageEvent[] = [];
  const box = await createSandbox(config, { onStage: (e) => seen.push(e) }, deps);
  assert.deepEqual(
    seen.map((e) => e.stage),
    CREATION,
  );
  for (const e of seen) {
    assert.ok(e.ok, e.stage);
    if (e.role === 'inner_child') assert.deepEqual([e.hostPid, e.boxPid], [FAKE_INIT_PID, 1], e.stage);
    if (e.role === 'namespaced_parent') assert.deepEqual([e.hostPid, e.boxPid], [FAKE_NP_PID, null], e.stage);
    assert.ok(e.durationMs >= 0 && Number.isFinite(e.t), e.stage);
  }
  const byStage = Object.fromEntries(seen.map((e) => [e.stage, e]));
  assert.deepEqual(Object.keys(byStage.unshare_user?.namespaces ?? {}), ['user']);
  assert.deepEqual(Object.keys(byStage.unshare_ns?.namespaces ?? {}).sort(), ['cgroup', 'ipc', 'mnt', 'net', 'uts']);
  assert.deepEqual(Object.keys(byStage.fork2?.namespaces ?? {}), ['pid']);
  assert.equal(box.pids.init, FAKE_INIT_PID);
  await box.destroy();
});

test('the outer parent writes the uid map, mounts the idmapped overlay and joins the cgroups before saying go', async (t) => {
  const { deps, sys } = setup(t);
  const box = await createSandbox(config, {}, deps);
  const names = sys.names();
  const order = [
    'spawnBox',
    'cgroups.create',
    'mount',
    'writeProcFile',
    'idmappedBind',
    'mount',
    'umount2',
    'cgroups.addProcess',
    'control',
  ];
  let at = 0;
  for (const n of names) if (n === order[at]) at++;
  assert.equal(at, order.length, `calls out of order: ${names.join(' ')}`);
  const writes = sys.calls.filter((c) => c.name === 'writeProcFile').map((c) => c.args.slice(1));
  assert.deepEqual(
    writes.map((w) => w[0]),
    ['setgroups', 'uid_map', 'gid_map', 'oom_score_adj'],
  );
  assert.equal(writes[0]?.[1], 'deny');
  assert.match(String(writes[1]?.[1]), /^0 \d+ 65536\n$/);
  const overlay = sys.calls.find((c) => c.name === 'mount' && c.args[2] === 'overlay')!;
  assert.match(String(overlay.args[4]), /^lowerdir=.*\/lower,upperdir=.*\/rw\/upper,workdir=.*\/rw\/work$/);
  const tmpfs = sys.calls.find((c) => c.name === 'mount' && c.args[2] === 'tmpfs')!;
  assert.match(String(tmpfs.args[4]), /size=67108864,nr_inodes=16384,/);
  assert.deepEqual(sys.calls.find((c) => c.name === 'takePtyMaster')!.args, [FAKE_INIT_PID, FAKE_MASTER_FD]);
  // The uid slot is held by this process, then also by the namespaced parent and PID 1 (a crash of ours frees it
  // only when they are gone too).
  const [entry] = uidSlotEntries(deps.uidRegistry);
  assert.ok(entry, 'a uid slot entry');
  const held = JSON.parse(readFileSync(entry.path, 'utf8')) as { id: string; owners: { pid: number }[] };
  assert.equal(held.id, box.id);
  assert.deepEqual(
    held.owners.map((o) => o.pid),
    [process.pid, FAKE_NP_PID, FAKE_INIT_PID],
  );
  assert.match(String(writes[1]?.[1]), new RegExp(`^0 ${(1 << 30) + entry.slot * 65536} 65536\n$`), "uid_map is the slot's range");
  await box.destroy();
});

test('destroy tears down in the seed order and leaves no state, slot or dir', async (t) => {
  const { deps, sys, runDir } = setup(t);
  const seen: StageEvent[] = [];
  const box = await createSandbox(config, { onStage: (e) => seen.push(e) }, deps);
  const from = seen.length;
  await box.destroy();
  await box.destroy(); // idempotent
  assert.deepEqual(
    seen.slice(from).map((e) => e.stage),
    TEARDOWN,
  );
  const names = sys.names();
  assert.ok(names.indexOf('kill') < names.lastIndexOf('waitpid'), 'PID 1 killed before the namespaced parent is reaped');
  const umounts = sys.calls.filter((c) => c.name === 'umount2').map((c) => String(c.args[0]).split('/').pop());
  assert.deepEqual(umounts.slice(-3), ['merged', 'lower', 'rw']);
  assert.ok(names.lastIndexOf('umount2') < names.indexOf('cgroups.remove'), 'overlay before cgroups');
  assert.deepEqual(list(join(runDir, 'sandboxes')), []);
  assert.deepEqual(uidSlotEntries(join(runDir, 'uids')), []);
});

test('destroy() resolves only once the pty master is closed, which its reader may do later, in another thread', async (t) => {
  const { deps, sys } = setup(t);
  const take = sys.takePtyMaster.bind(sys);
  let closed = false;
  sys.takePtyMaster = (pid, fd) => {
    const m = take(pid, fd);
    const s = m.stream as unknown as PassThrough;
    // Like native-bindings/pty-reader.ts: destroy() asks the worker; the fd is closed, and 'close' comes, later.
    m.stream.destroy = () => void setTimeout(() => PassThrough.prototype.destroy.call(s), 50);
    s.on('close', () => (closed = true));
    return m;
  };
  const box = await createSandbox(config, {}, deps);
  await box.destroy();
  assert.equal(closed, true, 'destroy() resolved while the master was still open');
});

test('PID 1 exiting on its own reports the exit status and cleans up without a destroy call', async (t) => {
  const { deps, sys, runDir } = setup(t);
  const box = await createSandbox(config, {}, deps);
  const destroyed = new Promise((r) => box.on('destroyed', r));
  sys.box!.exitAll(3 << 8);
  (box as unknown as { outputDone: boolean }).outputDone = true;
  const exit = await box.wait();
  assert.deepEqual(exit, { code: 3, signal: null, status: 3 });
  await destroyed;
  assert.deepEqual(list(join(runDir, 'sandboxes')), []);
  assert.ok(!sys.names().includes('kill'), 'an exited PID 1 is never signalled (its pid may be reused)');
});

test("a pty read late (its worker thread still starting) still delivers PID 1's last output before the exit", async (t) => {
  const { deps, sys } = setup(t);
  const take = sys.takePtyMaster.bind(sys);
  let stream: PassThrough | null = null;
  sys.takePtyMaster = (pid, fd) => {
    const m = take(pid, fd);
    stream = m.stream as unknown as PassThrough;
    return m;
  };
  const box = await createSandbox(config, {}, deps);
  let out = '';
  box.on('data', (b: Buffer) => (out += b.toString()));
  const exited = box.wait().then((e) => ({ e, out }));
  sys.box!.exitAll(0);
  // Seen in CI under emulation: the shell printed and exited before the reader thread delivered a byte (> 500 ms).
  await new Promise((r) => setTimeout(r, 1200));
  stream!.end('iso-1234\r\n');
  const { e, out: atExit } = await exited;
  assert.deepEqual(e, { code: 0, signal: null, status: 0 });
  assert.equal(atExit, 'iso-1234\r\n', 'the output came after the exit was reported');
});

for (const stage of CREATION.filter((s) => s !== 'running')) {
  test(`a failure at ${stage} is a SandboxError naming it, and leaves nothing`, async (t) => {
    const { deps, sys, runDir } = setup(t);
    const err = await createSandbox({ ...config, failAt: stage }, {}, deps).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(err instanceof SandboxError, String(err));
    assert.equal(err.info.stage, stage);
    assert.match(err.info.sandboxId ?? '', /^bx-[0-9a-f]{12}$/);
    assert.match(err.message, new RegExp(stage));
    assert.deepEqual(list(join(runDir, 'sandboxes')), [], 'sandbox dir removed');
    assert.deepEqual(uidSlotEntries(join(runDir, 'uids')), [], 'uid slot released');
    const names = sys.names();
    const made = (n: string) => names.includes(n);
    if (made('cgroups.create')) assert.ok(made('cgroups.remove'), 'cgroups removed');
    const mounts = sys.calls.filter((c) => c.name === 'mount').length;
    if (mounts) assert.ok(sys.calls.filter((c) => c.name === 'umount2').length >= mounts, 'every mount undone');
    if (made('spawnBox')) assert.ok(made('waitpid'), 'namespaced parent reaped');
  });
}

test('a child failure maps errno to a code and keeps the call and path', async (t) => {
  const { deps, sys } = setup(t);
  sys.failErrno = 13;
  const err = (await createSandbox({ ...config, failAt: 'mount_proc' }, {}, deps).catch((e) => e)) as SandboxError;
  assert.deepEqual(
    { stage: err.info.stage, syscall: err.info.syscall, errno: err.info.errno, code: err.info.code, path: err.info.path },
    { stage: 'mount_proc', syscall: 'fake_call', errno: 13, code: 'EACCES', path: '/fake/mount_proc' },
  );
  assert.equal(err.message, 'mount_proc: fake_call /fake/mount_proc failed: EACCES');
});

test('bad config is refused before anything is made', async (t) => {
  const { deps, sys, runDir } = setup(t);
  for (const [bad, msg] of [
    [{ memoryBytes: NaN }, /--memory/],
    [{ cpuFraction: NaN }, /--cpu-limit/],
    [{ cpuFraction: 0 }, /--cpu-limit/],
    [{ hostname: 'a b' }, /hostname/],
    [{ shell: 'sh' }, /absolute/],
    [{ workdir: 'root' }, /absolute/],
    [{ pids: 2 }, /--pids/],
    [{ env: { A: 'x\0y' } }, /NUL/],
  ] as const) {
    await assert.rejects(createSandbox({ ...config, ...bad } as typeof config, {}, deps), msg as RegExp);
  }
  assert.equal(sys.calls.length, 0);
  assert.ok(!existsSync(join(runDir, 'sandboxes')));
});

test('overlay options refuse separators that would inject options', () => {
  assert.equal(overlayOptions('/a', '/b', '/c'), 'lowerdir=/a,upperdir=/b,workdir=/c');
  for (const p of ['/a,upperdir=/x', '/a:/b', '/a\\b']) assert.throws(() => overlayOptions(p, '/b', '/c'), /may not contain/);
});

test('a failed cgroup removal keeps the state record, so the next sweep can retry by id', async (t) => {
  const { deps, runDir } = setup(t);
  const failing = {
    ...deps,
    cgroups: async (id: string, l: Parameters<typeof deps.cgroups>[1]) => {
      const set = await deps.cgroups(id, l);
      return {
        ...set,
        remove: async () => {
          throw new SyscallError('rmdir', 16);
        },
      };
    },
  };
  const box = await createSandbox(config, {}, failing);
  await assert.rejects(box.destroy(), /EBUSY/);
  assert.deepEqual(list(join(runDir, 'sandboxes')), [box.id], 'record kept for the sweep');
  assert.equal(uidSlotEntries(join(runDir, 'uids')).length, 1, 'uid slot still held');
});

test('cgroup v2: cgroups first, the namespaced parent born in them (clone3), no attach write, oom_score_adj still set', async (t) => {
  const { deps, sys } = setup(t);
  const v2 = { ...deps, cgroups: fakeCgroups(sys.calls, 2), cgroupPlacement: 'clone' as const };
  const seen: StageEvent[] = [];
  const box = await createSandbox(config, { onStage: (e) => seen.push(e) }, v2);
  const stages = seen.map((e) => e.stage);
  assert.ok(stages.indexOf('cgroup_create') < stages.indexOf('fork1'), stages.join(' '));
  assert.deepEqual([...stages].sort(), [...CREATION].sort(), 'every creation stage still reported once');
  const spawn = sys.calls.find((c) => c.name === 'spawnBox')!;
  assert.match(String((spawn.args[0] as { cgroupDir?: string }).cgroupDir), /\/boxlab\/bx-/);
  assert.ok(!sys.names().includes('cgroups.addProcess'), 'no cgroup.procs write');
  assert.ok(sys.calls.some((c) => c.name === 'writeProcFile' && c.args[1] === 'oom_score_adj'));
  assert.match(seen.find((e) => e.stage === 'cgroup_attach')!.detail ?? '', /placed at clone3/);
  await box.destroy();

  // A v1/hybrid set under the same deps (placement decided per host, the set says v1): the attach path.
  const s2 = setup(t);
  const v1 = { ...s2.deps, cgroups: fakeCgroups(s2.sys.calls, 1), cgroupPlacement: 'clone' as const };
  const b2 = await createSandbox(config, {}, v1);
  assert.equal((s2.sys.calls.find((c) => c.name === 'spawnBox')!.args[0] as { cgroupDir?: string }).cgroupDir, undefined);
  assert.ok(s2.sys.names().includes('cgroups.addProcess'));
  await b2.destroy();
});
