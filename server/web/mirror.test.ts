// The headless mirror: snapshots hold exactly the bytes written before them, survive resize, and replay into a fresh terminal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Mirror } from './mirror.ts';

test('snapshot contains what was written before it and nothing written after', async () => {
  const m = new Mirror({ rows: 5, cols: 20 });
  try {
    m.write(Buffer.from('first\r\nsecond'));
    const snap = m.snapshot();
    m.write(Buffer.from('\r\nAFTER'));
    const s = await snap;
    assert.equal(s.rows, 5);
    assert.equal(s.cols, 20);
    assert.match(s.data, /first/);
    assert.match(s.data, /second/);
    assert.doesNotMatch(s.data, /AFTER/);
    const later = await m.snapshot();
    assert.match(later.data, /AFTER/);
  } finally {
    m.dispose();
  }
});

test('a snapshot replayed into a fresh mirror reproduces the screen and scrollback', async () => {
  const a = new Mirror({ rows: 4, cols: 30, scrollback: 100 });
  const b = new Mirror({ rows: 4, cols: 30, scrollback: 100 });
  try {
    for (let i = 0; i < 20; i++) a.write(Buffer.from(`line ${i}\r\n`));
    a.write(Buffer.from('\x1b[31mred\x1b[0m prompt$ '));
    const s = await a.snapshot();
    b.write(Buffer.from(s.data));
    await b.snapshot();
    assert.equal(b.text(), a.text());
    assert.match(a.text(), /^line 0$/m, 'scrollback kept');
    assert.match(s.data, /\x1b\[31m/, 'colors serialized');
  } finally {
    a.dispose();
    b.dispose();
  }
});

test('resize follows the session; UTF-8 split across writes is reassembled', async () => {
  const m = new Mirror({ rows: 24, cols: 80 });
  try {
    m.resize(10, 40);
    const euro = Buffer.from('€');
    m.write(euro.subarray(0, 1));
    m.write(euro.subarray(1));
    const s = await m.snapshot();
    assert.deepEqual([s.rows, s.cols], [10, 40]);
    assert.equal(m.text(), '€');
  } finally {
    m.dispose();
  }
});

test('flow hooks see every byte queued and parsed; scrollback is capped', async () => {
  let sent = 0;
  let acked = 0;
  const m = new Mirror({ rows: 5, cols: 20, scrollback: 50, flow: { sent: (n) => (sent += n), ack: (n) => (acked += n) } });
  try {
    for (let i = 0; i < 500; i++) m.write(Buffer.from(`row ${i}\r\n`));
    assert.ok(m.pending > 0, 'parsing is asynchronous');
    await m.snapshot();
    assert.equal(m.pending, 0);
    assert.equal(sent, acked);
    assert.ok(sent > 3000);
    assert.ok(m.text().split('\n').length <= 55, 'no more than scrollback + rows lines');
  } finally {
    m.dispose();
  }
});

test('dispose rejects waiting snapshots and releases the flow debt', async () => {
  let debt = 0;
  const m = new Mirror({ flow: { sent: (n) => (debt += n), ack: (n) => (debt -= n) } });
  m.write(Buffer.alloc(200_000, 'x'));
  const p = m.snapshot();
  m.dispose();
  await assert.rejects(p, /disposed/);
  assert.equal(debt, 0);
  await assert.rejects(m.snapshot(), /disposed/);
});
