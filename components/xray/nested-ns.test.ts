// Unit test of the lab-mode namespace tree built from the x-ray's process rows.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { XrayProc } from '../../server/protocol/xray';
import { nestedTree } from './nested-ns';

const proc = (pid: number, extra: Partial<XrayProc>): XrayProc => ({
  hostPid: 1000 + pid, pid, hostPpid: 999, ppid: 1, name: 'sh', state: 'S', cmd: 'sh', uid: 0, uidIn: 0, threads: 1, ...extra,
});

test('processes in nested namespaces are grouped under the user namespace they are in', () => {
  const tree = nestedTree([
    proc(1, {}),
    proc(4, { nspid: [4, 1], nsOwn: [{ kind: 'pid', ino: 20, userns: 9 }, { kind: 'mnt', ino: 21, userns: 9 }] }),
    proc(7, { nsOwn: [{ kind: 'user', ino: 30, userns: 30 }, { kind: 'net', ino: 31, userns: 30 }] }),
    proc(8, { nsOwn: [{ kind: 'user', ino: 30, userns: 30 }, { kind: 'net', ino: 31, userns: 30 }] }),
  ]);
  assert.deepEqual(tree, [
    { userns: null, spaces: [{ kind: 'mnt', ino: 21, pids: [4] }, { kind: 'pid', ino: 20, pids: [4] }], levels: ['sh 4 → 1'] },
    { userns: 30, spaces: [{ kind: 'net', ino: 31, pids: [7, 8] }], levels: [] },
  ]);
});
