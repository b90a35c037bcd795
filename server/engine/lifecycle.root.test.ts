// Root tests on real boxes: exit statuses (code, 128+signal) and 200 create/destroy cycles that leave nothing behind.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import type { Sandbox } from './sandbox.ts';
import {
  BoxTracker,
  fdCount,
  fdTable,
  leaksOf,
  newFds,
  PipeShell,
  runInBox,
  SKIP_NOT_ROOT,
  sleep,
  stageRecorder,
  within,
  zombieChildren,
  testNoLeftovers,
} from './testing/helpers.ts';

const tracker = new BoxTracker();
after(() => tracker.destroyAll());
const opts = { skip: SKIP_NOT_ROOT, timeout: 60_000 };

test('exit status: exit 3 is code 3', opts, async (t) => {
  t.after(() => tracker.destroyAll());
  const r = await runInBox(tracker, { shell: '/bin/sh', args: ['-c', 'exit 3'] });
  assert.deepEqual(r.exit, { code: 3, signal: null, status: 3 });
});

test('exit status: PID 1 killed with box.signal(9) is signal 9, status 137', opts, async (t) => {
  t.after(() => tracker.destroyAll());
  const sh = await PipeShell.open(tracker);
  assert.equal((await sh.run('echo up')).out, 'up\n');
  sh.box.signal(9);
  assert.deepEqual(await within(sh.box.wait(), 5000, 'box to die of SIGKILL'), { code: null, signal: 9, status: 137 });
});

test('exit status: a command killed by SIGTERM is 143 = 128+15 (the shell reports its child)', opts, async (t) => {
  t.after(() => tracker.destroyAll());
  // PID 1 itself cannot die of a signal it has no handler for (pid_namespaces(7)), so the victim is its child.
  const r = await runInBox(tracker, { shell: '/bin/sh', args: ['-c', 'sleep 30 & kill -TERM $!; wait $!'] });
  assert.deepEqual(r.exit, { code: 143, signal: null, status: 143 });
});

test('signals to PID 1: SIGTERM without a handler is ignored (pid_namespaces(7)); with a trap it runs the trap', opts, async (t) => {
  t.after(() => tracker.destroyAll());
  const sh = await PipeShell.open(tracker);
  let exited = false;
  sh.box.on('exit', () => (exited = true));
  sh.box.signal(15);
  await sleep(300);
  assert.equal(exited, false, 'PID 1 died of a SIGTERM it does not handle');
  assert.equal((await sh.run('echo still-here')).out, 'still-here\n');
  await sh.run("trap 'exit 42' TERM");
  sh.box.signal(15);
  // ash runs pending traps between commands; an empty line ends its blocking read of stdin.
  sh.box.write('\n');
  assert.deepEqual(await within(sh.box.wait(), 5000, 'trap to run'), { code: 42, signal: null, status: 42 });
});

/** Our children (any state): the engine's namespaced parents must all be reaped. */
function ownChildren(): string[] {
  const out: string[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const s = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      if (Number(f[1]) === process.pid) out.push(`${name}:${s.slice(s.indexOf('(') + 1, s.lastIndexOf(')'))}:${f[0]}`);
    } catch {
      // Gone.
    }
  }
  return out.sort();
}

const ownMounts = (ids: Set<string>) =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => [...ids].some((id) => l.includes(id))).length;

test('200 create/destroy cycles (pty and pipe) leave no mount, cgroup, fd, process or zombie', { ...opts, timeout: 300_000 }, async (t) => {
  t.after(() => tracker.destroyAll());
  const N = 200;
  // Warm-up: the first box opens fds that live for the whole process (koffi library, seccomp filter, esbuild; the pty
  // reader's worker thread: its event loop's fds and libuv's reserve fd on /dev/null, opened once per loop at its
  // first stream, uv__stream_init). destroy() resolves once the master is closed, so they all exist by now.
  await (await tracker.create({})).destroy();
  const fds0 = fdTable();
  const children0 = ownChildren();
  const rss0 = process.memoryUsage().rss;
  const ids = new Set<string>();
  const times: number[] = [];
  let maxMounts = 0;
  const failures: string[] = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    const rec = stageRecorder();
    let box: Sandbox;
    try {
      box = await tracker.create({ stdio: i % 2 ? 'pipe' : 'pty' }, rec.onStage);
    } catch (err) {
      // Counted and checked for leftovers like the rest; asserted on at the end.
      failures.push(`#${i}: ${(err as Error).message}`);
      const id = (err as { built?: { id: string } }).built?.id;
      if (id) ids.add(tracker.addFailed(id, rec.events, rec.starts).id);
      continue;
    }
    ids.add(box.id);
    assert.equal(box.events.at(-1)?.stage, 'running');
    if (i % 50 === 0) maxMounts = Math.max(maxMounts, ownMounts(new Set([box.id])));
    await within(box.destroy(), 15_000, `destroy #${i}`);
    times.push(performance.now() - t0);
  }
  const sorted = [...times].sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(1);
  t.diagnostic(
    `${times.length} cycles: mean ${mean.toFixed(1)} ms, p50 ${pct(0.5)} ms, p95 ${pct(0.95)} ms, max ${pct(1)} ms; ` +
      `rss ${((process.memoryUsage().rss - rss0) / 2 ** 20).toFixed(1)} MiB more; ${maxMounts} mounts per live box`,
  );
  assert.ok(maxMounts >= 2, 'live boxes showed no mounts: the mount check would see nothing');
  assert.equal(ownMounts(ids), 0, 'mounts of destroyed boxes left');
  const leaks = tracker.traces.filter((x) => ids.has(x.id)).flatMap(leaksOf);
  assert.deepEqual(leaks, []);
  const leakedFds = newFds(fds0);
  assert.deepEqual(
    leakedFds.length ? [`${leakedFds.length} fds, e.g. ${leakedFds.slice(0, 3).join(', ')}`] : [],
    [],
    'fds of the server process leaked',
  );
  assert.equal(fdCount(), fds0.length);
  assert.deepEqual(ownChildren(), children0, 'children of the server process left');
  assert.deepEqual(zombieChildren(), []);
  assert.deepEqual(failures, [], `${failures.length} of ${N} creations failed`);
});

test('pipe mode: destroy() without endInput() releases every fd of the box', opts, async (t) => {
  t.after(() => tracker.destroyAll());
  await (await tracker.create({ stdio: 'pipe' })).destroy();
  const before = fdTable();
  for (let i = 0; i < 5; i++) await (await tracker.create({ stdio: 'pipe' })).destroy();
  await sleep(100);
  assert.deepEqual(newFds(before), [], 'fds left open after 5 pipe-mode boxes were destroyed');
});

// fork2 is reported by the namespaced parent after fork() returns, while the new PID 1 may already have sent
// mount_private on the same status pipe: the engine then sees the stages out of order and fails the box (EPROTO).
// Measured about 1 creation in 75 with 4 at a time, 1 in 300 one at a time; 300 creations make a pass unlikely.
test('concurrent creation: 300 boxes, 4 at a time, none fails and none leaves anything', { ...opts, timeout: 120_000 }, async (t) => {
  t.after(() => tracker.destroyAll());
  const failures: string[] = [];
  let started = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (started < 300) {
        started++;
        const rec = stageRecorder();
        try {
          const box = await tracker.create({}, rec.onStage);
          await within(box.destroy(), 15_000, `destroy ${box.id}`);
        } catch (err) {
          failures.push((err as Error).message);
          const id = (err as { built?: { id: string } }).built?.id;
          if (id) tracker.addFailed(id, rec.events, rec.starts);
        }
      }
    }),
  );
  t.diagnostic(`300 boxes 4 at a time in ${(performance.now() - t0).toFixed(0)} ms; failures: ${JSON.stringify(failures)}`);
  assert.deepEqual(tracker.leaks(), []);
  assert.deepEqual(failures, []);
});

testNoLeftovers(tracker, opts);
