// The headless mirror: snapshots hold exactly the bytes written before them, survive resize, and replay into a fresh terminal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Mirror, isPlain } from './mirror.ts';

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
  const m = new Mirror({
    rows: 5,
    cols: 20,
    scrollback: 50,
    skipPlain: false,
    flow: { sent: (n) => (sent += n), ack: (n) => (acked += n) },
  });
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

test('isPlain: printable ASCII, TAB, CR, LF only', () => {
  assert.equal(isPlain(Buffer.from('abc 123 ~\t\r\n')), true);
  for (const c of ['\x1b', '\x00', '\x08', '\x7f', 'é', '\x0e']) assert.equal(isPlain(Buffer.from(`a${c}b`)), false, JSON.stringify(c));
});

/** A deterministic PRNG, so a failing stream can be replayed from its seed. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => (x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0) / 2 ** 32;
}

/** Output with long plain runs (lines, wraps, tabs, bare LF) between the escape sequences that change what plain text does. */
function randomStream(rnd: () => number, pieces: number): string {
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)];
  const word = () =>
    Array.from({ length: 1 + Math.floor(rnd() * 90) }, () => pick([...'abcdefghijklmnopqrstuvwxyz0123456789 +/='])).join('');
  let out = '';
  for (let i = 0; i < pieces; i++) {
    const r = rnd();
    if (r < 0.55) for (let n = Math.floor(rnd() * 150); n > 0; n--) out += word() + pick(['\r\n', '\r\n', '\r\n', '\n', '\t', '\r', '']);
    else
      out += pick([
        '\x1b[31m',
        '\x1b[1;44m',
        '\x1b[0m',
        '\x1b[2J\x1b[H',
        '\x1b[3;7r',
        '\x1b[2;4r',
        '\x1b[r',
        '\x1b[?1049h',
        '\x1b[?1049l',
        '\x1b[4h',
        '\x1b[4l',
        '\x1b[?7l',
        '\x1b[?7h',
        '\x1b[5;3H',
        '\x1b]0;title\x07',
        '\x1b(0',
        '\x1b(B',
        '\x1b7',
        '\x1b8',
        '\x1b[10;1H',
        'é\r\n',
        '\x1bc',
      ]);
  }
  return out;
}

test('skipping plain text never changes the snapshot (random streams cut at random points, split escape sequences included)', async () => {
  let skipped = 0;
  for (let seed = 1; seed <= 10; seed++) {
    const rnd = prng(seed);
    const bytes = Buffer.from(randomStream(rnd, 120));
    const fast = new Mirror({ rows: 6, cols: 25, scrollback: 30 });
    const ref = new Mirror({ rows: 6, cols: 25, scrollback: 30, skipPlain: false });
    try {
      for (let i = 0; i < bytes.length; ) {
        const n = 1 + Math.floor(rnd() * 700);
        const chunk = bytes.subarray(i, i + n);
        fast.write(chunk);
        ref.write(chunk);
        i += n;
        // Let the parsers run now and then, as the event loop does between pty reads (a skip needs a caught-up parser).
        if (rnd() < 0.5) await new Promise((r) => setTimeout(r, 0));
        if (rnd() < 0.02) {
          // Mid-stream: a resize (held text goes to the parser first) and a snapshot, compared on the spot.
          const [a, b] = await Promise.all([fast.snapshot(), ref.snapshot()]);
          assert.equal(a.data, b.data, `seed ${seed}: snapshot at byte ${i}`);
          const rows = 4 + Math.floor(rnd() * 6);
          fast.resize(rows, 25);
          ref.resize(rows, 25);
        }
      }
      const [a, b] = await Promise.all([fast.snapshot(), ref.snapshot()]);
      assert.equal(a.data, b.data, `seed ${seed}: final snapshot`);
      assert.equal(fast.text(), ref.text());
      skipped += fast.skippedBytes;
    } finally {
      fast.dispose();
      ref.dispose();
    }
  }
  assert.ok(skipped > 10_000, `the streams did exercise the skip (${skipped} bytes skipped)`);
});

test('a plain flood is mostly skipped, the snapshot still matches, and held text stays bounded', async () => {
  let sent = 0;
  let acked = 0;
  const fast = new Mirror({ rows: 24, cols: 80, scrollback: 1000, flow: { sent: (n) => (sent += n), ack: (n) => (acked += n) } });
  const ref = new Mirror({ rows: 24, cols: 80, scrollback: 1000, skipPlain: false });
  try {
    fast.write(Buffer.from('\x1b[1;32mroot@box\x1b[0m:~# base64 /dev/urandom\r\n'));
    ref.write(Buffer.from('\x1b[1;32mroot@box\x1b[0m:~# base64 /dev/urandom\r\n'));
    let total = 0;
    for (let i = 0; i < 2000; i++) {
      let s = '';
      while (s.length < 4000) s += `${i}-${s.length}-`.padEnd(76, 'Q') + '\r\n';
      const chunk = Buffer.from(s);
      total += chunk.length;
      fast.write(chunk);
      ref.write(chunk);
      if (i % 5 === 0) await new Promise((r) => setImmediate(r)); // the pty gives a few reads per event-loop turn
      assert.ok(fast.pending <= 300 * 1024, `held/pending bounded (${fast.pending})`);
    }
    fast.write(Buffer.from('^C\r\n\x1b[1;32mroot@box\x1b[0m:~# '));
    ref.write(Buffer.from('^C\r\n\x1b[1;32mroot@box\x1b[0m:~# '));
    const [a, b] = await Promise.all([fast.snapshot(), ref.snapshot()]);
    assert.equal(a.data, b.data);
    assert.ok(fast.skippedBytes > total * 0.9, `skipped ${fast.skippedBytes} of ${total}`);
    assert.equal(sent, acked, 'the flow counter saw only what was parsed');
    assert.ok(sent < total * 0.1);
  } finally {
    fast.dispose();
    ref.dispose();
  }
});
