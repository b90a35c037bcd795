// Unit test of the VM_DONTCOPY accounting over a recorded smaps excerpt.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dontCopyShare } from './fork.ts';

const SMAPS = `00400000-00600000 r-xp 00000000 08:01 123 /usr/bin/node
Rss:                2048 kB
VmFlags: rd ex mr mw me
1f000000-1f400000 rw-p 00000000 00:00 0
Rss:                4096 kB
VmFlags: rd wr mr mw me dc ac sd
7f0000000000-7f0000100000 rw-p 00000000 00:00 0 [heap]
Rss:                1024 kB
VmFlags: rd wr mr mw me ac sd
`;

test('RSS in "dc" (MADV_DONTFORK) mappings is counted apart', () => {
  assert.deepEqual(dontCopyShare(SMAPS), { dontCopyMiB: 4, otherMiB: 3 });
});

test('this Node process: V8 marks part of its memory DONTFORK', () => {
  const s = dontCopyShare();
  assert.ok(s.dontCopyMiB > 0, 'V8 heap pages carry VM_DONTCOPY');
  assert.ok(s.otherMiB > 0);
});
