// Process tree and namespace sampling over a recorded /proc with planted links, a zombie, a reused pid and threads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIdMap, parseStatus, sampleProcs, uidInside } from './procs.ts';
import { hostNamespaces, nsInode, parseMountinfo, sampleNamespaces } from './kernel.ts';
import { openDir, closeFd } from '../boxfs/index.ts';
import { BOX_MOUNTINFO, BOX_NS, HOST_NS, PIDS, SECRET, makeFixture } from './testing/fixture-proc.ts';

const UIDMAP = parseIdMap('         0 1105068032      65536\n');

test('the tree from PID 1: box and host pids, parents inside, zombie kept, impostor and planted links refused', (t) => {
  const fx = makeFixture();
  t.after(fx.cleanup);
  const r = sampleProcs({ procRoot: fx.proc, init: PIDS.init, parent: PIDS.namespacedParent, uidMap: UIDMAP });
  const by = new Map(r.procs.map((p) => [p.hostPid, p]));
  assert.deepEqual([...by.keys()].sort(), [200, 201, 202, 203, 205, 207], 'no 204 (reused pid) and no 206 (symlinked /proc entry)');
  assert.equal(r.truncated, false);
  assert.deepEqual(
    by.get(200),
    { hostPid: 200, pid: null, hostPpid: 100, ppid: null, name: 'node', state: 'S', cmd: '', uid: 1105068032, uidIn: 0, threads: 1 },
    'outside the box: no command line',
  );
  assert.equal(by.get(201)!.pid, 1);
  assert.equal(by.get(201)!.ppid, 0);
  assert.equal(by.get(201)!.threads, 2);
  assert.deepEqual([by.get(202)!.pid, by.get(202)!.ppid, by.get(202)!.cmd], [2, 1, 'sleep 100']);
  assert.deepEqual([by.get(203)!.state, by.get(203)!.ppid, by.get(203)!.cmd], ['Z', 2, ''], 'zombie: state Z, no command line');
  assert.deepEqual([by.get(207)!.pid, by.get(207)!.ppid], [7, 1], 'a child forked by a second thread of PID 1');
  assert.equal(by.get(205)!.cmd, '', 'cmdline was a symlink to a host file: not opened');
  assert.equal(by.get(205)!.name, 'ev\\x1b[31mil\\n');
  assert.doesNotMatch(JSON.stringify(r), new RegExp(SECRET));
});

test('bounded: at most maxProcs box processes, then truncated', (t) => {
  const fx = makeFixture();
  t.after(fx.cleanup);
  const r = sampleProcs({ procRoot: fx.proc, init: PIDS.init, parent: PIDS.namespacedParent, uidMap: UIDMAP, maxProcs: 3 });
  assert.equal(r.procs.filter((p) => p.pid !== null).length, 3);
  assert.equal(r.truncated, true);
});

test('a pid that is not a PID 1 of a nested namespace (box gone, pid reused) yields nothing', (t) => {
  const fx = makeFixture();
  t.after(fx.cleanup);
  assert.deepEqual(sampleProcs({ procRoot: fx.proc, init: 204, parent: 1, uidMap: UIDMAP }).procs, []);
  assert.deepEqual(sampleProcs({ procRoot: fx.proc, init: 206, parent: 201, uidMap: UIDMAP }).procs, []);
  assert.deepEqual(sampleProcs({ procRoot: fx.proc, init: 999, parent: 1, uidMap: UIDMAP }).procs, []);
});

test('status parsing and uid maps', () => {
  assert.equal(parseStatus('Name:\tx\n'), null, 'no NSpid: refused');
  assert.deepEqual(parseStatus('Name:\tsh\nState:\tS (sleeping)\nPPid:\t9\nUid:\t5\t5\t5\t5\nNSpid:\t10\t1\n'), {
    name: 'sh',
    state: 'S',
    ppid: 9,
    nspid: [10, 1],
    uid: 5,
    threads: 1,
  });
  assert.equal(uidInside(UIDMAP, 1105068032 + 1000), 1000);
  assert.equal(uidInside(UIDMAP, 0), null);
});

test('namespaces: one row per kind the host has, isolated ones differ, time is shared', (t) => {
  const fx = makeFixture();
  t.after(fx.cleanup);
  const host = hostNamespaces(fx.proc);
  assert.deepEqual(host, HOST_NS);
  const fd = openDir(`${fx.proc}/${PIDS.init}`);
  const rows = sampleNamespaces(host, fd);
  closeFd(fd);
  assert.equal(rows.length, 8);
  for (const r of rows) {
    assert.equal(r.box, BOX_NS[r.kind]);
    if (r.kind === 'time') assert.equal(r.box, r.host);
    else assert.notEqual(r.box, r.host, r.kind);
  }
  assert.deepEqual(
    sampleNamespaces(host, null).map((r) => r.box),
    Array(8).fill(null),
    'box gone: host side only',
  );
  assert.equal(nsInode('pid:[12]', 'pid'), 12);
  assert.equal(nsInode('net:[12]', 'pid'), null, 'a link naming another kind is refused');
  assert.equal(nsInode('/etc/passwd', 'pid'), null);
});

test('mountinfo: octal escapes decoded, then control characters made visible; bounded', () => {
  const { list, truncated } = parseMountinfo(BOX_MOUNTINFO);
  assert.equal(truncated, false);
  assert.deepEqual(
    list.map((m) => m.mountPoint),
    ['/', '/proc', '/dev', '/dev/pts', '/mnt/a b\\x0ac\\x1b[2J'],
  );
  assert.deepEqual([list[4]?.fsType, list[4]?.source, list[4]?.superOptions, list[4]?.parent], ['tmpfs', 'tmpfs', 'rw', 70]);
  assert.equal(list[0]?.fsType, 'overlay');
  const many = Array.from({ length: 300 }, (_, i) => `${i + 1} 1 0:1 / /m${i} rw - tmpfs tmpfs rw`).join('\n');
  const cut = parseMountinfo(many);
  assert.equal(cut.list.length, 200);
  assert.equal(cut.truncated, true);
});

test('lab mode: nested NSpid levels and the namespaces a process holds apart from the box', async () => {
  const { nestedOf } = await import('./procs.ts');
  const box = { pid: 10, mnt: 11, user: 12, net: 13 };
  assert.deepEqual(nestedOf([500, 7], box, box), {}, 'a plain box process: nothing extra');
  assert.deepEqual(nestedOf([501, 8, 1], { ...box, pid: 20, mnt: 21, user: 22 }, box), {
    nspid: [8, 1],
    nsOwn: [
      { kind: 'pid', ino: 20, userns: 22 },
      { kind: 'mnt', ino: 21, userns: 22 },
      { kind: 'user', ino: 22, userns: 22 },
    ],
  });
});
