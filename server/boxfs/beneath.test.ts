// Strict path-beneath reads and writes (no root): links planted anywhere on the path are refused, plain files still work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { readFileBeneath, readProcFile, UnsafePathError, writeFileBeneath } from './index.ts';
import { tempDir } from './testing/fixture-layer.ts';

function fixture(t: { after(fn: () => void): void }) {
  const dir = tempDir(t);
  const root = path.join(dir, 'upper');
  const outside = path.join(dir, 'outside');
  fs.mkdirSync(path.join(root, 'root', 'sub'), { recursive: true });
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'secret'), 'host secret');
  fs.writeFileSync(path.join(root, 'root', 'ok.txt'), 'hello');
  fs.writeFileSync(path.join(root, 'root', 'sub', 'deep.txt'), 'deep');
  fs.symlinkSync(path.join(outside, 'secret'), path.join(root, 'root', '.x'));
  fs.symlinkSync(outside, path.join(root, 'root', 'd'));
  fs.symlinkSync('../../outside/secret', path.join(root, 'root', 'rel'));
  return { root, outside };
}

const refused = (code: string | RegExp) => (err: unknown) => {
  assert.ok(err instanceof UnsafePathError, `UnsafePathError expected, got ${String(err)}`);
  if (typeof code === 'string') assert.equal(err.code, code);
  else assert.match(err.code, code);
  return true;
};

test('plain files beneath the root are read', (t) => {
  const { root } = fixture(t);
  assert.equal(readFileBeneath(root, 'root/ok.txt').toString(), 'hello');
  assert.equal(readFileBeneath(root, '/root//sub/./deep.txt').toString(), 'deep');
});

test('a symlink as the last component is not followed, absolute or relative', (t) => {
  const { root } = fixture(t);
  // The naive read follows it: that is what the probe must catch.
  assert.equal(fs.readFileSync(path.join(root, 'root', '.x'), 'utf8'), 'host secret');
  assert.throws(() => readFileBeneath(root, 'root/.x'), refused('ELOOP'));
  assert.throws(() => readFileBeneath(root, 'root/rel'), refused('ELOOP'));
});

test('a symlink as a directory component is not followed', (t) => {
  const { root } = fixture(t);
  assert.equal(fs.readFileSync(path.join(root, 'root', 'd', 'secret'), 'utf8'), 'host secret');
  assert.throws(() => readFileBeneath(root, 'root/d/secret'), refused(/^(ELOOP|ENOTDIR)$/));
});

test('".." is refused before anything is opened', (t) => {
  const { root } = fixture(t);
  assert.throws(() => readFileBeneath(root, 'root/../../outside/secret'), refused('EPERM'));
  assert.throws(() => readFileBeneath(root, ''), refused('EISDIR'));
});

test('a FIFO is refused without blocking, a directory is refused', (t) => {
  const { root } = fixture(t);
  execFileSync('mkfifo', [path.join(root, 'root', 'fifo')]);
  const t0 = performance.now();
  assert.throws(() => readFileBeneath(root, 'root/fifo'), refused('EINVAL'));
  assert.ok(performance.now() - t0 < 1000, 'returned at once');
  assert.throws(() => readFileBeneath(root, 'root/sub'), refused(/^(EINVAL|EISDIR)$/));
});

test('reads are capped', (t) => {
  const { root } = fixture(t);
  fs.writeFileSync(path.join(root, 'big'), Buffer.alloc(5000));
  assert.equal(readFileBeneath(root, 'big', 5000).length, 5000);
  assert.throws(() => readFileBeneath(root, 'big', 4999), refused('EFBIG'));
});

test('writes never go through a planted link and do create plain files', (t) => {
  const { root, outside } = fixture(t);
  assert.throws(() => writeFileBeneath(root, 'root/.x', 'pwned'), refused('ELOOP'));
  assert.throws(() => writeFileBeneath(root, 'root/d/new', 'pwned'), refused(/^(ELOOP|ENOTDIR)$/));
  assert.equal(fs.readFileSync(path.join(outside, 'secret'), 'utf8'), 'host secret');
  assert.deepEqual(fs.readdirSync(outside), ['secret']);
  writeFileBeneath(root, 'root/ok.txt', 'hi');
  assert.equal(fs.readFileSync(path.join(root, 'root', 'ok.txt'), 'utf8'), 'hi');
  writeFileBeneath(root, 'root/new.txt', 'new', { mode: 0o600 });
  assert.equal(fs.statSync(path.join(root, 'root', 'new.txt')).mode & 0o777, 0o600);
});

test('/proc/<pid> magic links (root, cwd, exe, fd/N) are refused, plain proc files read', () => {
  assert.match(readProcFile(process.pid, 'status').toString(), /^Name:/);
  for (const rel of ['root/etc/hostname', 'cwd/package.json', 'exe', 'fd/0']) {
    assert.throws(() => readProcFile(process.pid, rel), refused(/^(ELOOP|ENOTDIR)$/), rel);
  }
  assert.throws(() => readProcFile(-1, 'status'), refused('EINVAL'));
});
