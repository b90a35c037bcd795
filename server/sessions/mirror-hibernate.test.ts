// Mirror hibernation: an idle mirror frees its Terminal, keeps the serialized screen, and comes back from it unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Mirror } from './mirror.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A shell-like session: scrollback, colours, a prompt, bracketed paste on, cursor mid-line. */
function feed(m: Mirror, from: number, to: number): void {
  for (let i = from; i < to; i++) m.write(Buffer.from(`\x1b[3${i % 8}mline ${i}\x1b[0m\r\n`));
  m.write(Buffer.from('\x1b[?2004h\x1b[1;32mbox\x1b[0m:~# ls -'));
}

test('no Terminal before the first output; the empty snapshot matches a live mirror', async () => {
  const lazy = new Mirror({ rows: 5, cols: 20 });
  const live = new Mirror({ rows: 5, cols: 20 });
  try {
    assert.equal(lazy.hibernated, true);
    lazy.resize(7, 30);
    live.resize(7, 30);
    assert.equal(lazy.hibernated, true, 'a resize of an empty mirror allocates nothing');
    assert.deepEqual(await lazy.snapshot(), await live.snapshot());
  } finally {
    lazy.dispose();
    live.dispose();
  }
});

test('hibernate keeps the snapshot byte for byte, and output after the thaw lands as in a mirror never frozen', async () => {
  const a = new Mirror({ rows: 6, cols: 40, scrollback: 50 });
  const ref = new Mirror({ rows: 6, cols: 40, scrollback: 50 });
  try {
    feed(a, 0, 30);
    feed(ref, 0, 30);
    const before = await a.snapshot();
    assert.equal(a.hibernate(), true);
    assert.equal(a.hibernated, true);
    assert.deepEqual(await a.snapshot(), before, 'the frozen string is the snapshot');
    assert.equal(a.hibernated, true, 'a snapshot does not thaw');
    // plain echo is held without a thaw; the next escape sequence thaws and replays restore + held text in order
    a.write(Buffer.from('la'));
    ref.write(Buffer.from('la'));
    assert.equal(a.hibernated, true);
    a.write(Buffer.from('\r\n\x1b[34mdir\x1b[0m\r\n'));
    ref.write(Buffer.from('\r\n\x1b[34mdir\x1b[0m\r\n'));
    feed(a, 30, 40);
    feed(ref, 30, 40);
    assert.equal(a.hibernated, false);
    assert.equal(a.thaws, 1);
    const [sa, sr] = [await a.snapshot(), await ref.snapshot()];
    assert.equal(sa.data, sr.data);
    assert.equal(a.text(), ref.text());
  } finally {
    a.dispose();
    ref.dispose();
  }
});

test('resize of a frozen mirror thaws it and reflows like a live one', async () => {
  const a = new Mirror({ rows: 6, cols: 40 });
  const ref = new Mirror({ rows: 6, cols: 40 });
  try {
    feed(a, 0, 10);
    feed(ref, 0, 10);
    await a.snapshot();
    assert.equal(a.hibernate(), true);
    a.resize(8, 25);
    ref.resize(8, 25);
    assert.equal(a.rows, 8);
    assert.equal((await a.snapshot()).data, (await ref.snapshot()).data);
  } finally {
    a.dispose();
    ref.dispose();
  }
});

test('never hibernates mid-escape-sequence, with a scroll region, or with bytes unparsed', async () => {
  const m = new Mirror({ rows: 6, cols: 40 });
  try {
    m.write(Buffer.from('abc\x1b['));
    await m.snapshot();
    assert.equal(m.hibernate(), false, 'parser inside CSI');
    m.write(Buffer.from('0m\x1b[2;4r'));
    await m.snapshot();
    assert.equal(m.hibernate(), false, 'scroll region set (DECSTBM is not serialized)');
    m.write(Buffer.from('\x1b[r'));
    assert.equal(m.hibernate(), false, 'written but not yet parsed');
    await m.snapshot();
    assert.equal(m.hibernate(), true);
  } finally {
    m.dispose();
  }
});

test('the timer hibernates after hibernateMs without output, not before', async () => {
  const m = new Mirror({ rows: 6, cols: 40, hibernateMs: 80 });
  try {
    feed(m, 0, 5);
    await sleep(40);
    m.write(Buffer.from('\x1b[0m'));
    await sleep(60);
    assert.equal(m.hibernated, false, 'output 60 ms ago: still live');
    await sleep(150);
    assert.equal(m.hibernated, true);
    assert.match((await m.snapshot()).data, /line 4/);
  } finally {
    m.dispose();
  }
});
