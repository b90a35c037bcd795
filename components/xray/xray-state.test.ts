// The browser's x-ray state over full and diff messages: procs, files, history, OOM flash, stale messages, merged top level.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { XrayMsg, XrayProc } from '../../server/protocol/xray';
import { EMPTY_XRAY, HISTORY, applyXray, extendHistory, mergedTop } from './xray-state';

const proc = (hostPid: number, pid: number | null, state = 'S'): XrayProc => ({
  hostPid,
  pid,
  hostPpid: 1,
  ppid: pid === 1 ? 0 : 1,
  name: 'sh',
  state,
  cmd: 'sh',
  uid: 1,
  uidIn: 0,
  threads: 1,
});
const stats = (usageUsec: number, oomKills = 0, throttledUsec = 0) => ({
  memory: { current: 1000, limit: 2000, oomKills },
  cpu: { usageUsec, quotaFraction: 0.5, nrThrottled: 0, throttledUsec },
  pids: { current: 2, max: 10 },
  cgroupVersion: 1 as const,
});
const msg = (seq: number, full: boolean, at: number, rest: Partial<XrayMsg> = {}): XrayMsg => ({
  type: 'xray',
  seq,
  full,
  at,
  costMs: 1,
  ...rest,
});

test('procs and files: set/del diffs on top of a full message; a full message starts over', () => {
  let s = applyXray(
    EMPTY_XRAY,
    msg(1, true, 0, {
      procs: { set: [proc(10, 1), proc(11, 2)], del: [], truncated: false },
      fs: {
        set: [{ path: '/tmp/x', kind: 'file', change: 'created', size: 3, mtimeMs: 0 }],
        del: [],
        meta: { total: 1, truncated: false, usedBytes: 0, sizeBytes: 1 },
        lowerTop: [{ name: 'tmp', kind: 'dir' }],
      },
    }),
  );
  assert.deepEqual([...s.procs.keys()], [10, 11]);
  assert.equal(s.touched.size, 0, 'what was there at subscription is not "just changed"');
  s = applyXray(
    s,
    msg(2, false, 250, {
      procs: { set: [proc(11, 2, 'Z'), proc(12, 3)], del: [10], truncated: false },
      fs: {
        set: [{ path: '/tmp/y', kind: 'file', change: 'created', size: 1, mtimeMs: 0 }],
        del: ['/tmp/x'],
        meta: { total: 1, truncated: false, usedBytes: 0, sizeBytes: 1 },
      },
    }),
  );
  assert.deepEqual([...s.procs.keys()].sort(), [11, 12]);
  assert.equal(s.procs.get(11)!.state, 'Z');
  assert.deepEqual([...s.files.keys()], ['/tmp/y']);
  assert.equal(s.touched.get('/tmp/y'), 250);
  assert.deepEqual(s.lowerTop, [{ name: 'tmp', kind: 'dir' }], 'kept from the full message');
  assert.equal(applyXray(s, msg(2, false, 300, { procs: { set: [], del: [11], truncated: false } })), s, 'stale seq ignored');
  const fresh = applyXray(s, msg(1, true, 400, { ns: [] }));
  assert.equal(fresh.procs.size, 0);
  assert.equal(fresh.files.size, 0);
  assert.deepEqual(fresh.ns, []);
});

test('cgroup history: cpu in cores and throttled share from deltas, bounded length; OOM kill increase flashes', () => {
  let s = applyXray(EMPTY_XRAY, msg(1, true, 1000, { stats: stats(0) }));
  assert.equal(s.history[0]?.cpu, null);
  s = applyXray(s, msg(2, false, 1250, { stats: stats(125_000, 0, 50_000) }));
  assert.equal(s.history[1]?.cpu, 0.5, '125 ms of cpu in 250 ms');
  assert.equal(s.history[1]?.throttled, 0.2);
  assert.equal(s.oomAt, null);
  s = applyXray(s, msg(3, false, 1500, { stats: stats(125_000, 1) }));
  assert.equal(s.oomAt, 1500);
  for (let i = 4; i < 200; i++) s = applyXray(s, msg(i, false, 1500 + i * 250, { stats: stats(125_000, 1) }));
  assert.equal(s.history.length, HISTORY);
  assert.equal(s.oomAt, 1500, 'no new kill, no new flash');
});

test('merged top level: image only, upper only, both, or deleted by a whiteout', () => {
  const f = (path: string, kind: 'file' | 'dir' | 'whiteout', change: 'created' | 'modified' | 'deleted' | 'opaque') =>
    [path, { path, kind, change, size: 0, mtimeMs: 0 }] as const;
  const files = new Map([
    f('/tmp/x', 'file', 'created'),
    f('/home', 'whiteout', 'deleted'),
    f('/new', 'dir', 'created'),
    f('/new/a', 'file', 'created'),
    f('/etc', 'dir', 'opaque'),
    f('/etc/c', 'file', 'created'),
  ]);
  const top = mergedTop(
    [
      { name: 'bin', kind: 'dir' },
      { name: 'etc', kind: 'dir' },
      { name: 'home', kind: 'dir' },
      { name: 'tmp', kind: 'dir' },
    ],
    files,
  );
  assert.deepEqual(Object.fromEntries(top.map((e) => [e.name, e.source])), {
    bin: 'image',
    etc: 'upper',
    home: 'deleted',
    new: 'upper',
    tmp: 'both',
  });
});

test('a quiet box sends no stats: the history is extended with the last values, zero cpu, on the server clock', () => {
  let s = applyXray(EMPTY_XRAY, msg(1, true, 10_000, { stats: stats(500) }), 1_000);
  assert.equal(extendHistory(s, 1_200), s, 'too soon');
  s = extendHistory(s, 1_600);
  assert.equal(s.history.length, 2);
  assert.deepEqual(s.history[1], { at: 10_600, memory: 1000, cpu: 0, throttled: 0, pids: 2 });
  s = applyXray(s, msg(2, false, 10_800, { stats: stats(100_500) }), 1_800);
  assert.equal(s.history[2]?.cpu, 0.5, 'a real sample after a synthetic one: delta over 200 ms');
  assert.equal(extendHistory(EMPTY_XRAY, 5_000), EMPTY_XRAY);
});
