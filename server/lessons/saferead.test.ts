// No-follow reads beneath a box-controlled directory: planted symlinks (at the end or midway), FIFOs and ".." are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { lstatBeneath, readBeneath, statDirBeneath } from './saferead.ts';

function tree(t: { after(fn: () => void): void }) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlab-saferead-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
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
  assert.equal(readBeneath(upper, '/root/ok.txt')?.data.toString(), 'hello');
  assert.equal(lstatBeneath(upper, '/root/ok.txt')?.isFile(), true);
  assert.equal(readBeneath(upper, '/root/missing'), null);
  assert.equal(readBeneath(upper, '/nope/x'), null);
});

test('a symlink at the end is never followed: lstat sees the link, read refuses it', (t) => {
  const { upper } = tree(t);
  assert.equal(lstatBeneath(upper, '/root/answer')?.isSymbolicLink(), true);
  assert.equal(readBeneath(upper, '/root/answer'), null);
});

test('a symlinked directory midway is refused (ELOOP/ENOTDIR), not walked into', (t) => {
  const { upper } = tree(t);
  assert.equal(readBeneath(upper, '/etc/host-secret'), null);
  assert.equal(lstatBeneath(upper, '/etc/host-secret'), null);
  assert.equal(statDirBeneath(upper, '/etc'), null);
});

test('a FIFO does not hang the reader and is not read', (t) => {
  const { upper } = tree(t);
  execFileSync('mkfifo', [path.join(upper, 'root', 'fifo')]);
  assert.equal(readBeneath(upper, '/root/fifo'), null);
});

test('".." is refused', (t) => {
  const { upper } = tree(t);
  assert.throws(() => readBeneath(upper, '/root/../../host-secret'), /".." is not allowed/);
});

test('large files are cut at maxBytes', (t) => {
  const { upper } = tree(t);
  fs.writeFileSync(path.join(upper, 'root', 'big'), Buffer.alloc(100_000, 65));
  assert.equal(readBeneath(upper, '/root/big', 1000)?.data.length, 1000);
});
