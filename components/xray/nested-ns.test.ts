// Unit test of the lab-mode namespace tree built from the x-ray's process rows and the owners the kernel reported.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { XrayProc } from '../../server/protocol/xray';
import { isEmpty, nestedTree } from './nested-ns';

const proc = (pid: number, extra: Partial<XrayProc>): XrayProc => ({
  hostPid: 1000 + pid,
  pid,
  hostPpid: 999,
  ppid: 1,
  name: 'sh',
  state: 'S',
  cmd: 'sh',
  uid: 0,
  uidIn: 0,
  threads: 1,
  ...extra,
});
const BOX_USER = 9;

test('namespaces hang under the user namespace that owns them; user namespaces under their parent', () => {
  const tree = nestedTree([
    proc(1, {}),
    // unshare --pid --fork --mount-proc (no -U): owned by the box's user namespace.
    proc(4, {
      nspid: [4, 1],
      nsOwn: [
        { kind: 'pid', ino: 20, userns: BOX_USER },
        { kind: 'mnt', ino: 21, userns: BOX_USER },
      ],
    }),
    // unshare -U -r --net, twice in the same namespaces; then a user namespace inside that one with its own uts.
    proc(7, {
      nsOwn: [
        { kind: 'user', ino: 30, userns: BOX_USER },
        { kind: 'net', ino: 31, userns: 30 },
      ],
    }),
    proc(8, {
      nsOwn: [
        { kind: 'user', ino: 30, userns: BOX_USER },
        { kind: 'net', ino: 31, userns: 30 },
      ],
    }),
    proc(9, {
      nsOwn: [
        { kind: 'user', ino: 40, userns: 30 },
        { kind: 'net', ino: 31, userns: 30 },
        { kind: 'uts', ino: 41, userns: 40 },
      ],
    }),
  ]);
  assert.deepEqual(tree, {
    userns: null,
    spaces: [
      { kind: 'mnt', ino: 21, pids: [4] },
      { kind: 'pid', ino: 20, pids: [4] },
    ],
    levels: ['sh 4 → 1'],
    children: [
      {
        userns: 30,
        levels: [],
        spaces: [{ kind: 'net', ino: 31, pids: [7, 8, 9] }],
        children: [{ userns: 40, spaces: [{ kind: 'uts', ino: 41, pids: [9] }], children: [], levels: [] }],
      },
    ],
  });
  assert.equal(isEmpty(nestedTree([proc(1, {})])), true);
});

test('owners the server could not read fall back to the box: a null owner, or a user ns given as its own owner', () => {
  const tree = nestedTree([
    proc(5, {
      nsOwn: [
        { kind: 'user', ino: 50, userns: 50 },
        { kind: 'ipc', ino: 51, userns: null },
      ],
    }),
  ]);
  assert.deepEqual(
    tree.children.map((c) => c.userns),
    [50],
  );
  assert.deepEqual(tree.spaces, [{ kind: 'ipc', ino: 51, pids: [5] }]);
});
