// No-follow reads beneath a box-controlled directory: planted symlinks (at the end or midway), FIFOs and ".." are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { lstatBeneath, readHeadBeneath, statDirBeneath } from './index.ts';
import { tempDir } from './testing/fixture-layer.ts';

function tree(t: { after(fn: () => void): void }) {
  const root = tempDir(t);
  const upper = path.join(root, 'upper');
  const secret = path.join(root, 'host-secret');
  fs.mkdirSync(path.join(upper, 'root'), { recursive: true });
  fs.writeFileSync(secret, 'HOST SECRET');
  fs.writeFileSync(path.join(upper, 'root', 'ok.txt'), 'hello');
  fs.symlinkSync(secret, path.join(upper, 'root', 'answer')); // planted: absolute link to a host file
  fs.symlinkSync(path.dirname(secret), path.join(upper, 'etc')); // planted: a directory link midway
  return { root, upper, secret };
}

test('reads a regular file beneath the root', (t) => {
  const { upper } = tree(t);
  assert.equal(readHeadBeneath(upper, '/root/ok.txt')?.data.toString(), 'hello');
  assert.equal(lstatBeneath(upper, '/root/ok.txt')?.isFile(), true);
  assert.equal(readHeadBeneath(upper, '/root/missing'), null);
  assert.equal(readHeadBeneath(upper, '/nope/x'), null);
});

test('a symlink at the end is never followed: lstat sees the link, read refuses it', (t) => {
  const { upper } = tree(t);
  // The naive read follows it onto the host file: what these lookups must not do.
  assert.equal(fs.readFileSync(path.join(upper, 'root', 'answer'), 'utf8'), 'HOST SECRET');
  assert.equal(fs.statSync(path.join(upper, 'root', 'answer')).isFile(), true);
  assert.equal(lstatBeneath(upper, '/root/answer')?.isSymbolicLink(), true);
  assert.equal(readHeadBeneath(upper, '/root/answer'), null);
});

test('a symlinked directory midway is refused (ELOOP/ENOTDIR), not walked into', (t) => {
  const { upper, root } = tree(t);
  assert.equal(fs.readFileSync(path.join(upper, 'etc', 'host-secret'), 'utf8'), 'HOST SECRET');
  assert.equal(fs.statSync(path.join(upper, 'etc')).ino, fs.statSync(root).ino, 'a path-based stat lands on the host dir');
  assert.equal(readHeadBeneath(upper, '/etc/host-secret'), null);
  assert.equal(lstatBeneath(upper, '/etc/host-secret'), null);
  assert.equal(statDirBeneath(upper, '/etc'), null);
});

test('a FIFO does not hang the reader and is not read', (t) => {
  const { upper } = tree(t);
  execFileSync('mkfifo', [path.join(upper, 'root', 'fifo')]);
  const t0 = performance.now();
  assert.equal(readHeadBeneath(upper, '/root/fifo'), null);
  assert.ok(performance.now() - t0 < 1000, 'returned at once');
  assert.equal(lstatBeneath(upper, '/root/fifo')?.isFIFO(), true);
});

test('".." is refused', (t) => {
  const { upper } = tree(t);
  assert.throws(() => readHeadBeneath(upper, '/root/../../host-secret'), /".." is not allowed/);
  assert.throws(() => lstatBeneath(upper, '/root/../../host-secret'), /".." is not allowed/);
  assert.throws(() => statDirBeneath(upper, '..'), /".." is not allowed/);
});

test('"" names no file, but statDirBeneath("") is the root itself; directories beneath are stat-ed', (t) => {
  const { upper } = tree(t);
  assert.throws(() => readHeadBeneath(upper, ''), { code: 'EISDIR' });
  assert.throws(() => lstatBeneath(upper, '/'), { code: 'EISDIR' });
  assert.equal(statDirBeneath(upper, '')?.ino, fs.statSync(upper).ino);
  assert.equal(statDirBeneath(upper, '/root/')?.ino, fs.statSync(path.join(upper, 'root')).ino);
  assert.equal(statDirBeneath(upper, '/root/ok.txt'), null, 'a file is not a directory (ENOTDIR)');
  assert.equal(statDirBeneath(path.join(upper, 'gone'), 'root'), null, 'a missing root is "not there"');
});

test('large files are cut at maxBytes', (t) => {
  const { upper } = tree(t);
  fs.writeFileSync(path.join(upper, 'root', 'big'), Buffer.alloc(100_000, 65));
  assert.equal(readHeadBeneath(upper, '/root/big', 1000)?.data.length, 1000);
});
