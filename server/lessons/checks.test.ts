// Legacy check types over a fake probe (through their mapping onto the vocabulary): each passes on the kernel state it
// names and fails, with a reason, on near misses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StageEvent } from '../engine/types.ts';
import type { Memo } from './checks.ts';
import { answerMatches } from './facts.ts';
import type { BoxProc } from './probe.ts';
import { FakeProbe, run, stats } from './testing/fake-probe.ts';
import { pidsMaxEvents } from './kernel-reads.ts';

test('file: new, copied-up, whiteout and owner are told apart', async () => {
  const p = new FakeProbe();
  assert.match((await run('file', p, { path: '/root/x', state: 'upper-only' })).r.message, /does not exist/);
  p.lower.set('/root/x', { kind: 'file' });
  assert.match((await run('file', p, { path: '/root/x', state: 'upper-only' })).r.message, /only in the image/);
  p.upper.set('/root/x', { kind: 'file', data: 'hello' });
  assert.match((await run('file', p, { path: '/root/x', state: 'upper-only' })).r.message, /copy-up, not a new file/);
  assert.equal((await run('file', p, { path: '/root/x', state: 'copied-up', contains: 'hello' })).r.ok, true);
  assert.equal((await run('file', p, { path: '/root/x', state: 'copied-up', contains: 'bye' })).r.ok, false);
  p.upper.set('/etc/os-release', { kind: 'whiteout' });
  assert.equal((await run('file', p, { path: '/etc/os-release', state: 'whiteout' })).r.ok, false, 'not in the image: no whiteout needed');
  p.lower.set('/etc/os-release', { kind: 'file' });
  assert.equal((await run('file', p, { path: '/etc/os-release', state: 'whiteout' })).r.ok, true);
  p.upper.set('/root/mine', { kind: 'file', uid: 1_001_000 });
  assert.equal((await run('file', p, { path: '/root/mine', owner: 1000 })).r.ok, true);
  assert.match((await run('file', p, { path: '/root/mine', owner: 0 })).r.message, /uid 1000 in the box, not 0/);
  p.upper.set('/jail/bin/busybox', { kind: 'file', mode: 0o644 });
  assert.match((await run('file', p, { path: '/jail/bin/busybox', executable: true })).r.message, /not executable/);
});

test('answer: the written answer against the kernel fact; the fact is not revealed on a miss', async () => {
  const p = new FakeProbe();
  assert.match((await run('answer', p, { fact: 'host-root-uid', match: 'number' })).r.message, /write your answer/);
  p.upper.set('/root/answer', { kind: 'file', data: '0\n' });
  const miss = (await run('answer', p, { fact: 'host-root-uid', match: 'number' })).r;
  assert.equal(miss.ok, false);
  assert.doesNotMatch(miss.message, /1000000/);
  p.upper.set('/root/answer', { kind: 'file', data: '1000000\n' });
  assert.equal((await run('answer', p, { fact: 'host-root-uid', match: 'number' })).r.ok, true);
  p.ns['uts:uname -n'] = 'box-1\n';
  p.upper.set('/root/answer', { kind: 'file', data: 'box-1\n' });
  assert.equal((await run('answer', p, { fact: 'hostname' })).r.ok, true);
  assert.equal(answerMatches('CapEff:\t00000000a00405fb', '00000000a00405fb', 'contains'), true);
  assert.equal(answerMatches('Seccomp:\t2', '2', 'number'), true);
  assert.equal(answerMatches('Pid: 1\nPPid: 0', '0', 'number'), false);
});

test('process: running, orphan, zombie; absent only after it was seen; zombies are not "running"', async () => {
  const p = new FakeProbe();
  const sleep = (hostPid: number, boxPid: number, argv: string[], extra: Partial<BoxProc> = {}): BoxProc => ({
    hostPid,
    boxPid,
    boxPpid: 1,
    hostPpid: 100,
    pgrpHost: hostPid,
    name: 'sleep',
    argv,
    state: 'S',
    ...extra,
  });
  assert.equal((await run('process', p, { argv: 'sleep 1001' })).r.ok, false);
  p.procs.push(sleep(201, 4, ['sleep', '1001']));
  const r = (await run('process', p, { argv: 'sleep 1001' })).r;
  assert.equal(r.ok, true);
  assert.match(r.message, /PID 4 in the box, 201 on the host/);
  p.procs.push(sleep(202, 5, ['sleep', '1002']));
  assert.equal((await run('process', p, { argv: 'sleep 1002', orphan: true })).r.ok, false, 'own process group: not an orphan');
  p.procs[2]!.pgrpHost = 150; // its group leader (a subshell) is gone
  assert.equal((await run('process', p, { argv: 'sleep 1002', orphan: true })).r.ok, true);
  const memo: Memo = {};
  assert.match(
    (await run('process', p, { name: 'sleep', state: 'Z', absent: true, seenFirst: true }, memo)).r.message,
    /no zombie "sleep" to get rid of/,
  );
  p.procs.push(sleep(203, 6, [], { state: 'Z' }));
  assert.equal((await run('process', p, { name: 'sleep', state: 'Z' })).r.ok, true);
  assert.equal((await run('process', p, { name: 'sleep', state: 'Z', absent: true, seenFirst: true }, memo)).r.ok, false);
  p.procs.pop();
  assert.equal((await run('process', p, { name: 'sleep', state: 'Z', absent: true, seenFirst: true }, memo)).r.ok, true);
  p.procs.push({ ...sleep(204, 7, []), name: 'yes', state: 'Z' });
  assert.equal((await run('process', p, { name: 'yes', absent: true })).r.ok, true, 'a killed, unreaped yes is gone');
});

test('process since: step: one left running by an earlier step is not seen on this one; without it, it is', async () => {
  const p = new FakeProbe();
  const yes = (hostPid: number, boxPid: number): BoxProc => ({
    hostPid,
    boxPid,
    boxPpid: 1,
    hostPpid: 100,
    pgrpHost: hostPid,
    name: 'yes',
    argv: ['yes'],
    state: 'R',
  });
  // Seen in CI: step 1's `timeout 3 yes` still ran when step 2 opened, then ended by itself: step 2 passed unearned.
  const since = { name: 'yes', absent: true, seenFirst: true, since: 'step' };
  p.procs.push(yes(300, 9));
  const { memo } = await run('process', p, since);
  assert.equal((await run('process', p, since, memo)).r.ok, false, 'still there');
  p.procs.pop();
  assert.match((await run('process', p, since, memo)).r.message, /no "yes" to get rid of/);
  p.procs.push(yes(301, 10)); // the learner's own, started on this step
  assert.equal((await run('process', p, since, memo)).r.ok, false);
  p.procs.pop();
  assert.equal((await run('process', p, since, memo)).r.ok, true);
  // Without since (pid-namespace's zombie, made on the step before, is the one to reap): a leftover counts.
  const plain = { name: 'yes', absent: true, seenFirst: true };
  p.procs.push(yes(302, 11));
  const m2 = (await run('process', p, plain)).memo;
  assert.equal((await run('process', p, plain, m2)).r.ok, false);
  p.procs.pop();
  assert.equal((await run('process', p, plain, m2)).r.ok, true);
  // Presence with since: step wants a new one.
  p.procs.push(yes(303, 12));
  const m3 = (await run('process', p, { name: 'yes', since: 'step' })).memo;
  assert.equal((await run('process', p, { name: 'yes', since: 'step' }, m3)).r.ok, false);
  p.procs.push(yes(304, 13));
  assert.equal((await run('process', p, { name: 'yes', since: 'step' }, m3)).r.ok, true);
});

test('chroot: jailed root, and cwd outside the jail', async () => {
  const p = new FakeProbe();
  assert.match((await run('chroot', p, { dir: '/nope' })).r.message, /not a directory/);
  assert.match((await run('chroot', p, { dir: '/jail' })).r.message, /no process has \/jail/);
  p.procs.push({ hostPid: 300, boxPid: 9, boxPpid: 1, hostPpid: 100, pgrpHost: 300, name: 'sh', argv: ['/bin/sh'], state: 'S' });
  p.roots.set(300, '1:42');
  assert.equal((await run('chroot', p, { dir: '/jail' })).r.ok, true);
  assert.equal((await run('chroot', p, { dir: '/jail', escaped: true })).r.ok, false);
  p.cwdOut.add(300);
  assert.equal((await run('chroot', p, { dir: '/jail', escaped: true })).r.ok, true);
});

test('counters compare with the baseline taken when the step began', async () => {
  const p = new FakeProbe();
  p.st = stats({ oom: 2, throttled: 10, usage: 1_000_000 });
  const oom = await run('oom-kill', p, {});
  assert.equal(oom.r.ok, false, 'earlier OOM kills do not count');
  p.st = stats({ oom: 3, throttled: 20, usage: 2_000_000 });
  assert.equal((await run('oom-kill', p, {}, oom.memo)).r.ok, true);
  const cpu = await run('cpu-throttled', p, { minPeriods: 5 });
  p.st = stats({ throttled: 24 });
  assert.equal((await run('cpu-throttled', p, { minPeriods: 5 }, cpu.memo)).r.ok, false);
  p.st = stats({ throttled: 25 });
  assert.equal((await run('cpu-throttled', p, { minPeriods: 5 }, cpu.memo)).r.ok, true);
  const bomb = await run('pids-max-hit', p, {});
  p.st = stats({ refused: 17 });
  assert.match(
    (await run('pids-max-hit', p, {}, bomb.memo)).r.message,
    /17 forks refused at pids.max since this step began \(1 of 32 tasks\)/,
  );
  const calm: Memo = {};
  p.st = stats({ pids: 2 });
  assert.equal((await run('pids-calm', p, {}, calm)).r.ok, false, 'never crowded on this step');
  p.st = stats({ pids: 32 });
  assert.equal((await run('pids-calm', p, {}, calm)).r.ok, false);
  p.st = stats({ pids: 1 });
  assert.equal((await run('pids-calm', p, {}, calm)).r.ok, true);
});

test("forks refused in a lab box: the box's own count (Linux 6.12+) or the sum over its subtree (before), the larger", async () => {
  const p = new FakeProbe();
  const sub = (path: string, pidsRefused: number) => ({
    path,
    memoryMax: null,
    memoryCurrent: 0,
    oomKills: 0,
    pidsMax: null,
    pidsRefused,
    procs: [],
    controllers: ['pids'],
  });
  assert.equal(await pidsMaxEvents(p), 0);
  // Before 6.12: counted where the forking task lives (init/ or the learner's own cgroup), never at the box.
  p.subtree = [sub('init', 3), sub('mine', 2)];
  assert.equal(await pidsMaxEvents(p), 5);
  const bomb = await run('pids-max-hit', p, {});
  p.subtree = [sub('init', 9), sub('mine', 2)];
  assert.equal((await run('pids-max-hit', p, {}, bomb.memo)).r.ok, true, 'a bomb in init/ is seen');
  // 6.12+: counted at the box (whose pids.max was hit) and its ancestors, not in init/.
  p.subtree = [sub('init', 0), sub('mine', 0)];
  p.st = stats({ refused: 7 });
  assert.equal(await pidsMaxEvents(p), 7);
});

test('network and IPC checks read the box namespaces', async () => {
  const p = new FakeProbe();
  p.proc['net/tcp'] = '  sl  local_address rem_address   st\n   0: 0100007F:1F90 00000000:0000 0A 0\n';
  p.proc['net/tcp6'] = '  sl  local_address rem_address st\n';
  assert.match((await run('tcp-listen', p, { port: 8080 })).r.message, /on the host nothing listens on 8080/);
  assert.match((await run('tcp-listen', p, { port: 8081 })).r.message, /listening: 8080/);
  const t = await run('net-traffic', p, { dev: 'lo', minPackets: 4 });
  assert.match(t.r.message, /lo is down/);
  p.ns['net:ip -o link show dev lo'] = '1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536';
  p.proc['net/dev'] = 'h1\nh2\n    lo: 900 13 0 0 0 0 0 0 900 13 0 0 0 0 0 0\n';
  assert.equal((await run('net-traffic', p, { dev: 'lo', minPackets: 4 }, t.memo)).r.ok, true);
  assert.match((await run('sysv-shm', p, {})).r.message, /no shared memory segment/);
  p.ns['ipc:cat /proc/sysvipc/shm'] = 'key shmid perms size cpid lpid\n1095648583 0 644 16384 935 935 1\n';
  assert.match((await run('sysv-shm', p, {})).r.message, /host's IPC namespace has no segment with that key/);
  assert.equal((await run('sysv-shm', p, { otherAttached: true })).r.ok, false);
  p.ns['ipc:cat /proc/sysvipc/shm'] = 'key shmid perms size cpid lpid\n1095648583 0 644 16384 935 937 1\n';
  assert.equal((await run('sysv-shm', p, { otherAttached: true })).r.ok, true);
});

test('teardown: all stages of the seed order, in order', async () => {
  const p = new FakeProbe();
  const ev = (stage: string) => ({ stage }) as StageEvent;
  assert.match((await run('teardown', p, {})).r.message, /still running/);
  p.events = ['child_exit', 'umount_proc'].map(ev);
  assert.match((await run('teardown', p, {})).r.message, /waiting for umount_dev/);
  p.events = ['child_exit', 'umount_proc', 'umount_dev', 'namespaced_parent_exit', 'overlay_umount', 'cgroup_remove', 'cleanup_done'].map(
    ev,
  );
  assert.equal((await run('teardown', p, {})).r.ok, true);
});
