// Unit test of the learner's fork tree: the capstone's unshare --fork shows as namespaced parent and inner child.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { XrayProc } from '../../server/protocol/xray';
import { learnerFork } from './learner-fork';

const proc = (pid: number, ppid: number | null, name: string, extra: Partial<XrayProc> = {}): XrayProc => ({
  hostPid: 1000 + pid,
  pid,
  hostPpid: 999,
  ppid,
  name,
  state: 'S',
  cmd: name,
  uid: 0,
  uidIn: 0,
  threads: 1,
  ...extra,
});

test('nothing built: no rows', () => {
  assert.deepEqual(learnerFork([proc(1, 0, 'sh'), proc(5, 1, 'sleep')]), []);
});

test('runtime.sh -> unshare --fork (own mnt, uts) -> nested PID 1 sh -> exec busybox', () => {
  const rows = learnerFork([
    proc(1, 0, 'sh'),
    proc(7, 1, 'sh', { cmd: 'sh runtime.sh' }),
    proc(8, 7, 'unshare', {
      nsOwn: [
        { kind: 'mnt', ino: 20, userns: 9 },
        { kind: 'uts', ino: 21, userns: 9 },
      ],
    }),
    proc(9, 8, 'sh', {
      nspid: [9, 1],
      nsOwn: [
        { kind: 'pid', ino: 22, userns: 9 },
        { kind: 'mnt', ino: 20, userns: 9 },
        { kind: 'uts', ino: 21, userns: 9 },
      ],
    }),
    proc(10, 9, 'sleep', { nspid: [10, 2], nsOwn: [{ kind: 'pid', ino: 22, userns: 9 }] }),
    proc(11, 1, 'top'),
  ]);
  assert.deepEqual(
    rows.map((r) => `${'  '.repeat(r.depth)}${r.pid} ${r.name} ${r.role}${r.nspid ? ` [${r.nspid.join('/')}]` : ''}`),
    [
      '1 sh process',
      '  7 sh process',
      '    8 unshare namespaced-parent',
      '      9 sh inner-child [9/1]',
      '        10 sleep process [10/2]',
    ],
  );
  assert.deepEqual(rows.find((r) => r.pid === 8)?.own, ['mnt', 'uts']);
});

test('a parent loop or a missing ancestor does not hang or drop the row', () => {
  const rows = learnerFork([
    proc(3, 4, 'a', { nspid: [3, 1] }),
    proc(4, 3, 'b'),
    proc(6, 99, 'c', { nsOwn: [{ kind: 'net', ino: 1, userns: null }] }),
  ]);
  assert.deepEqual(rows.map((r) => r.pid).sort(), [3, 4, 6]);
});
