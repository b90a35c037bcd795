// spawn.test.ts: the C helper's ABI matches the TypeScript side (stage ids, event layout), without root.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { STAGES } from '../server/engine/types.ts';
import { EVENT_SIZE, helper, parseEvent } from './spawn.ts';

test('every stage id of the C helper names the same stage as STAGES', () => {
  const h = helper();
  assert.equal(h.abi(), 1);
  STAGES.forEach((name, i) => assert.equal(h.stageName(i), name, `stage ${i}`));
  assert.equal(h.stageName(STAGES.length), '');
  assert.equal(h.stageName(-1), '');
});

test('events are fixed-size records below PIPE_BUF, decoded field by field', () => {
  assert.equal(helper().eventSize(), EVENT_SIZE);
  assert.ok(EVENT_SIZE <= 4096, 'atomic pipe writes need records <= PIPE_BUF');
  const b = Buffer.alloc(EVENT_SIZE);
  b.writeInt32LE(13, 0); // mount_proc
  b.writeInt32LE(2, 4); // inner child
  b.writeInt32LE(0, 8); // failed
  b.writeInt32LE(13, 12); // EACCES
  b.writeInt32LE(1, 16);
  b.writeInt32LE(-1, 20);
  b.writeBigInt64LE(1000n, 24);
  b.writeBigInt64LE(2500n, 32);
  b.write('mount(proc)', 40);
  b.write('/x/'.repeat(40), 64, 96); // fills detail with no NUL: must stop at the field's end
  const e = parseEvent(b);
  assert.deepEqual(
    { ...e, detail: e.detail.length },
    {
      stage: 13,
      role: 'inner_child',
      ok: false,
      errno: 13,
      pid: 1,
      value: -1,
      tStart: 1000n,
      tEnd: 2500n,
      syscall: 'mount(proc)',
      detail: 96,
    },
  );
});
