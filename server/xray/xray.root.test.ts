// The x-ray on real sandboxes: namespace inodes, NSpid pairs against the host's /proc, upper-layer writes, the OOM event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readlinkSync } from 'node:fs';
import type { XrayMsg, XrayView } from '../protocol/xray.ts';
import { BoxTracker, PipeShell, SKIP_NOT_ROOT, fdTable, newFds, sleep, within } from '../engine/testing/helpers.ts';
import { XraySampler } from './sampler.ts';
import { MiB } from '../protocol/size.ts';

/** A sampler collecting every message, with helpers to wait for one that satisfies a predicate. */
function watch(box: ConstructorParameters<typeof XraySampler>[0], views: XrayView[]) {
  const sent: XrayMsg[] = [];
  const s = new XraySampler(box, (m) => sent.push(m), { intervalMs: 100 });
  s.watch(views);
  const until = async (pred: (m: XrayMsg) => boolean, what: string, ms = 8000): Promise<XrayMsg> => {
    const end = Date.now() + ms;
    for (let seen = 0; Date.now() < end; await sleep(20)) {
      for (; seen < sent.length; seen++) if (pred(sent[seen]!)) return sent[seen]!;
    }
    throw new Error(`no x-ray message with ${what} in ${ms} ms (got ${sent.length})`);
  };
  return { sent, sampler: s, until };
}

test('namespaces: every isolated kind has an inode other than the host one, and the same one the kernel shows', {
  skip: SKIP_NOT_ROOT,
}, async (t) => {
  const tracker = new BoxTracker();
  t.after(async () => {
    await tracker.destroyAll();
    assert.deepEqual(tracker.leaks(), []);
  });
  const sh = await PipeShell.open(tracker);
  const fds = fdTable();
  const w = watch(sh.box, ['ns']);
  try {
    const m = await w.until((x) => !!x.ns, 'ns');
    const rows = new Map(m.ns!.map((r) => [r.kind, r]));
    for (const kind of ['pid', 'mnt', 'uts', 'ipc', 'net', 'user', 'cgroup'] as const) {
      const r = rows.get(kind)!;
      assert.ok(r.box && r.host, kind);
      assert.notEqual(r.box, r.host, `${kind} is isolated`);
      assert.equal(readlinkSync(`/proc/${sh.box.pids.init}/ns/${kind}`), `${kind}:[${r.box}]`);
      assert.equal(readlinkSync(`/proc/self/ns/${kind}`), `${kind}:[${r.host}]`);
    }
    const engine = await sh.box.namespaces();
    for (const r of m.ns!) assert.equal(r.box, engine.box[r.kind], `${r.kind} agrees with the engine`);
  } finally {
    w.sampler.stop();
  }
  assert.deepEqual(newFds(fds), [], 'the sampler closed every fd it opened');
});

test('processes: NSpid pairs match the host /proc and the pid the box itself reports', { skip: SKIP_NOT_ROOT }, async (t) => {
  const tracker = new BoxTracker();
  t.after(async () => {
    await tracker.destroyAll();
    assert.deepEqual(tracker.leaks(), []);
  });
  const sh = await PipeShell.open(tracker);
  const w = watch(sh.box, ['procs']);
  try {
    const inside = Number((await sh.run('sleep 100 & echo $!')).out.trim());
    assert.ok(inside > 1);
    // Caught between fork and exec, the child is still a copy of sh: wait for the sample after its execve.
    const m = await w.until((x) => !!x.procs?.set.some((p) => p.pid === inside && p.cmd === 'sleep 100'), `sleep as box pid ${inside}`);
    const sleepProc = m.procs!.set.find((p) => p.pid === inside)!;
    assert.equal(sleepProc.cmd, 'sleep 100');
    assert.equal(sleepProc.ppid, 1);
    assert.equal(sleepProc.uidIn, 0, 'root inside');
    assert.ok(sleepProc.uid >= 2 ** 30, 'an unprivileged uid outside');
    const all = new Map<number, NonNullable<XrayMsg['procs']>['set'][number]>();
    for (const x of w.sent) for (const p of x.procs?.set ?? []) all.set(p.hostPid, p);
    assert.equal(all.get(sh.box.pids.init)!.pid, 1, 'PID 1 is the shell');
    assert.equal(all.get(sh.box.pids.namespacedParent)!.pid, null, 'the namespaced parent is outside the PID namespace');
    for (const p of all.values()) {
      const nspid = (/\nNSpid:\s*([^\n]*)/.exec(readFileSync(`/proc/${p.hostPid}/status`, 'utf8'))?.[1] ?? '')
        .trim()
        .split(/\s+/)
        .map(Number);
      assert.deepEqual(p.pid === null ? [p.hostPid] : [p.hostPid, p.pid], nspid, `NSpid of ${p.hostPid}`);
    }
    // Killed, the sleep stays a zombie until the shell reaps it, which busybox sh does before its next command.
    await sh.run(`kill ${inside}`);
    await w.until(
      (x) => !!x.procs?.set.some((p) => p.hostPid === sleepProc.hostPid && p.state === 'Z') || !!x.procs?.del.includes(sleepProc.hostPid),
      'the killed sleep a zombie',
    );
    await sh.run('true');
    await w.until((x) => !!x.procs?.del.includes(sleepProc.hostPid), 'the reaped sleep removed');
  } finally {
    w.sampler.stop();
  }
});

test('upper layer: a file written in the box appears, a deleted image file is a whiteout, mounts show the overlay root', {
  skip: SKIP_NOT_ROOT,
}, async (t) => {
  const tracker = new BoxTracker();
  t.after(async () => {
    await tracker.destroyAll();
    assert.deepEqual(tracker.leaks(), []);
  });
  const sh = await PipeShell.open(tracker);
  const w = watch(sh.box, ['fs', 'mounts']);
  try {
    const first = await w.until((x) => x.full, 'a full message');
    assert.deepEqual(
      first.fs!.set.filter((f) => f.path === '/tmp/x'),
      [],
    );
    assert.equal(first.mounts!.list[0]?.mountPoint, '/');
    assert.equal(first.mounts!.list[0]?.fsType, 'overlay');
    assert.equal(first.mounts!.mergedPath, sh.box.layers.merged);
    await sh.run('echo hi > /tmp/x && rm /etc/hostname && ln -s /etc/shadow /tmp/link');
    const m = await w.until((x) => !!x.fs?.set.some((f) => f.path === '/tmp/x'), '/tmp/x');
    const x = m.fs!.set.find((f) => f.path === '/tmp/x')!;
    assert.deepEqual([x.kind, x.change, x.size], ['file', 'created', 3]);
    const all = w.sent.flatMap((s) => s.fs?.set ?? []);
    assert.ok(all.some((f) => f.path === '/etc/hostname' && f.kind === 'whiteout' && f.change === 'deleted'));
    assert.ok(all.some((f) => f.path === '/tmp/link' && f.kind === 'symlink' && f.target === '/etc/shadow'));
    await sh.run('rm /tmp/x');
    await w.until((y) => !!y.fs?.del.includes('/tmp/x'), '/tmp/x removed');
  } finally {
    w.sampler.stop();
  }
});

test('cgroups: a memory hog in a 32M box is OOM-killed and the sampler reports the kill', { skip: SKIP_NOT_ROOT }, async (t) => {
  const tracker = new BoxTracker();
  t.after(async () => {
    await tracker.destroyAll();
    assert.deepEqual(tracker.leaks(), []);
  });
  const sh = await PipeShell.open(tracker, { memoryBytes: 32 * MiB });
  // Bomb rule: the hog only runs once the limit is verified in place, read back from the box's own cgroup.
  const stats = await sh.box.stats();
  assert.equal(stats.memory.limit, 32 * 1024 * 1024, 'memory limit set before any hog runs');
  const w = watch(sh.box, ['cgroup']);
  try {
    const first = await w.until((x) => !!x.stats, 'stats');
    assert.equal(first.stats!.memory.oomKills, 0);
    // dd allocates its 64M block and fills it from /dev/zero: past the 32M limit, the kernel kills it.
    const r = await within(sh.run('dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo status=$?'), 20_000, 'hog');
    assert.match(r.out, /status=137/, 'dd was SIGKILLed');
    const m = await w.until((x) => (x.stats?.memory.oomKills ?? 0) >= 1, 'an OOM kill');
    assert.ok(m.stats!.memory.current <= 32 * 1024 * 1024);
    assert.equal((await sh.run('echo alive')).out.trim(), 'alive', 'the shell survived');
  } finally {
    w.sampler.stop();
  }
});

test('a hostile box: escape-sequence names, a symlink loop, a link to /, 3000 files, a deep tree: bounded, valid, nothing followed', {
  skip: SKIP_NOT_ROOT,
}, async (t) => {
  const tracker = new BoxTracker();
  t.after(async () => {
    await tracker.destroyAll();
    assert.deepEqual(tracker.leaks(), []);
  });
  const sh = await PipeShell.open(tracker);
  await sh.run(
    [
      'mkdir -p /tmp/h && cd /tmp/h',
      'touch "$(printf \'evil\\033[2J\\nname\')"',
      'ln -s loop1 loop2 && ln -s loop2 loop1 && ln -s / link-root && ln -s /proc/1/root link-proc-root',
      'mkdir many && i=0; while [ $i -lt 3000 ]; do : > many/f$i; i=$((i+1)); done',
      'd=deep; i=0; while [ $i -lt 60 ]; do d=$d/d; i=$((i+1)); done; mkdir -p $d',
      "sh -c 'sleep 300; :' \"$(printf '\\033]0;pwned\\007')\" &",
    ].join('; '),
    60_000,
  );
  const { xrayMsg } = await import('../protocol/xray.ts');
  const w = watch(sh.box, ['fs', 'procs']);
  try {
    const m = await w.until((x) => x.full && !!x.fs, 'a full message');
    assert.equal(xrayMsg.safeParse(m).success, true, 'within every bound of the wire schema');
    const paths = m.fs!.set.map((f) => f.path);
    assert.ok(m.fs!.set.length <= 500 && m.fs!.meta.truncated);
    assert.ok(paths.includes('/tmp/h/evil\\x1b[2J\\x0aname'), 'escape and newline made visible');
    const link = m.fs!.set.find((f) => f.path === '/tmp/h/link-root')!;
    assert.deepEqual([link.kind, link.target], ['symlink', '/']);
    assert.ok(
      !paths.some((p) => p.startsWith('/tmp/h/link-root/') || p.startsWith('/tmp/h/loop1/') || p.startsWith('/tmp/h/link-proc-root/')),
    );
    assert.ok(!JSON.stringify(m).includes('\x1b'), 'no raw escape byte leaves the server');
    const titled = m.procs!.set.find((p) => p.cmd.includes('pwned'));
    assert.equal(titled?.cmd, 'sh -c sleep 300; : \\x1b]0;pwned\\x07', '$0 carrying an OSC title sequence, made visible');
    assert.ok(m.costMs < 250, `sample cost ${m.costMs} ms`);
  } finally {
    w.sampler.stop();
  }
});
