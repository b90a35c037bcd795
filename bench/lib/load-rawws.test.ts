// Unit tests of the byte-level WebSocket frame builder (RFC 6455 §5.2): lengths, masking, lies about the length.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { frame, OP } from './load-rawws.ts';

const unmask = (f: Buffer, off: number) => {
  const mask = f.subarray(off, off + 4);
  return Buffer.from(f.subarray(off + 4).map((b, i) => b ^ mask.readUInt8(i & 3)));
};

test('short frame: FIN, opcode, mask bit, 7-bit length, masked payload', () => {
  const f = frame(OP.text, Buffer.from('hello'));
  assert.equal(f[0], 0x81);
  assert.equal(f[1], 0x80 | 5);
  assert.equal(f.length, 2 + 4 + 5);
  assert.equal(unmask(f, 2).toString(), 'hello');
});

test('16-bit and 64-bit lengths', () => {
  const m = frame(OP.binary, Buffer.alloc(300, 1));
  assert.equal(m[1], 0x80 | 126);
  assert.equal(m.readUInt16BE(2), 300);
  assert.deepEqual([...unmask(m, 4)], new Array(300).fill(1));
  const l = frame(OP.binary, Buffer.alloc(70_000));
  assert.equal(l[1], 0x80 | 127);
  assert.equal(l.readBigUInt64BE(2), 70_000n);
  assert.equal(l.length, 10 + 4 + 70_000);
});

test('a declared length can lie (truncated or absurd frames) and FIN can be clear', () => {
  const f = frame(OP.binary, Buffer.alloc(0), { declared: 2 ** 53 });
  assert.equal(f.readBigUInt64BE(2), 2n ** 53n);
  assert.equal(f.length, 14);
  assert.equal(frame(OP.text, Buffer.from('x'), { fin: false })[0], OP.text);
});
