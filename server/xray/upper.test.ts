// Upper-layer walk over recorded layers: created/modified/deleted/opaque, planted links, hostile names, bounds, a racing swap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lowerTop, walkUpper } from './upper.ts';
import { SECRET, makeFixture } from './testing/fixture-proc.ts';
import { clean, cleanCmdline } from './text.ts';

const isRoot = process.getuid?.() === 0;

test('changes classified against the image; links listed with their target, never followed', (t) => {
  const fx = makeFixture();
  t.after(fx.cleanup);
  const { files, meta } = walkUpper(fx.layers, { budgetMs: 60_000 });
  const by = Object.fromEntries(files.map((f) => [f.path, `${f.kind}:${f.change}${f.target ? `->${f.target}` : ''}`]));
  assert.deepEqual(by, {
    '/etc/passwd': 'file:modified',
    '/etc2': `symlink:created->${fx.root}/host-secret`,
    '/opq': 'dir:opaque',
    '/opq/c': 'file:created',
    '/tmp/bad\\x0aname\\x1b[2J': 'file:created',
    '/tmp/evil': `symlink:created->${fx.root}/host-secret`,
    '/tmp/new': 'dir:created',
    '/tmp/new/deep.txt': 'file:created',
    '/tmp/x': 'file:created',
  });
  assert.equal(files.find((f) => f.path === '/tmp/x')!.size, 3);
  assert.doesNotMatch(JSON.stringify(files), new RegExp(SECRET), 'nothing of the host dir the links point at');
  assert.equal(meta.truncated, false);
  assert.equal(meta.total, 11, 'the 9 listed plus /etc and /tmp, directories the image has');
  assert.ok(meta.sizeBytes > 0);
  assert.deepEqual(
    lowerTop(fx.layers.lower).map((e) => `${e.name}:${e.kind}`),
    ['bin:dir', 'etc:dir', 'opq:dir', 'tmp:dir'],
  );
});

test('a whiteout (0:0 character device) is a deletion', { skip: !isRoot && 'mknod needs CAP_MKNOD' }, (t) => {
  const fx = makeFixture();
  t.after(fx.cleanup);
  execFileSync('mknod', [join(fx.layers.upper, 'etc/hostname'), 'c', '0', '0']);
  execFileSync('mknod', [join(fx.layers.upper, 'tmp/tty'), 'c', '5', '0']);
  const { files } = walkUpper(fx.layers);
  assert.deepEqual(
    files.find((f) => f.path === '/etc/hostname'),
    {
      path: '/etc/hostname',
      kind: 'whiteout',
      change: 'deleted',
      size: 0,
      mtimeMs: files.find((f) => f.path === '/etc/hostname')!.mtimeMs,
    },
  );
  assert.equal(files.find((f) => f.path === '/tmp/tty')!.kind, 'other', 'another device node is not a whiteout');
});

test('a directory swapped for a symlink between lstat and open is skipped (O_NOFOLLOW through the dir fd)', (t) => {
  const fx = makeFixture();
  t.after(fx.cleanup);
  let swapped = false;
  const { files } = walkUpper(fx.layers, {
    afterLstat: (p) => {
      if (p !== '/tmp/new') return;
      renameSync(join(fx.layers.upper, 'tmp/new'), join(fx.root, 'moved'));
      symlinkSync(join(fx.root, 'host-secret'), join(fx.layers.upper, 'tmp/new'));
      swapped = true;
    },
  });
  assert.ok(swapped);
  assert.equal(
    files.some((f) => f.path.startsWith('/tmp/new')),
    false,
  );
  assert.doesNotMatch(JSON.stringify(files), new RegExp(SECRET));
  assert.ok(
    files.some((f) => f.path === '/tmp/x'),
    'the rest of the walk goes on',
  );
});

test('bounds: files listed, entries per directory, depth and time budget each cut the walk (truncated)', (t) => {
  const fx = makeFixture();
  t.after(fx.cleanup);
  mkdirSync(join(fx.layers.upper, 'big'));
  for (let i = 0; i < 600; i++) writeFileSync(join(fx.layers.upper, 'big', `f${String(i).padStart(3, '0')}`), '');
  const slow = { budgetMs: 60_000 }; // only the budget case below may be cut by time
  const a = walkUpper(fx.layers, slow);
  assert.equal(a.files.length, 500);
  assert.equal(a.meta.truncated, true);
  assert.ok(a.meta.total > 600);
  const b = walkUpper(fx.layers, { ...slow, maxEntriesPerDir: 100 });
  assert.equal(b.files.filter((f) => f.path.startsWith('/big/')).length, 100);
  assert.equal(b.meta.truncated, true);
  let deep = join(fx.layers.upper, 'deep');
  for (let i = 0; i < 40; i++) deep = join(deep, 'd');
  mkdirSync(deep, { recursive: true });
  const c = walkUpper(fx.layers, { ...slow, maxDepth: 10, maxFiles: 10_000 });
  assert.equal(c.files.filter((f) => f.path.startsWith('/deep')).length, 11);
  assert.equal(c.meta.truncated, true);
  let clock = 0;
  const d = walkUpper(fx.layers, { now: () => (clock += 1), budgetMs: 50, maxFiles: 10_000 });
  assert.equal(d.meta.truncated, true);
  assert.equal(d.timedOut, true);
  assert.equal(a.timedOut, false, 'a size bound is not a timeout');
  assert.ok(d.files.length < 50);
});

test('the upper dir missing (box gone) is an empty sample, not an error', () => {
  const r = walkUpper({ lower: '/nonexistent/l', upper: '/nonexistent/u', merged: '/nonexistent/m' });
  assert.deepEqual(r, { files: [], meta: { total: 0, truncated: false, usedBytes: 0, sizeBytes: 0 }, timedOut: false });
});

test('clean: controls, bidi overrides and zero-width made visible; capped without splitting a surrogate pair', () => {
  assert.equal(clean('a\nb\x1b[31m\u202etxt.exe\u200b', 64), 'a\\x0ab\\x1b[31m\\u{202e}txt.exe\\u{200b}');
  assert.equal(clean('abcdef', 4), 'abcd…');
  assert.equal(clean('abc😀', 4), 'abc…');
  assert.equal(clean(Buffer.from([0x61, 0xff, 0x62]), 8), 'a\ufffdb');
  assert.equal(cleanCmdline(Buffer.from('sleep\x00100\x00\x00'), 64), 'sleep 100');
  assert.equal(clean('x'.repeat(1_000_000), 10).length, 11);
});
