// Unit tests of validateImage / resolveInImage (symlinks resolved inside the image, never on the host) and imageInfo.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, writeFile, symlink, link, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateImage, resolveInImage, imageInfo } from './validate.ts';
import { ImageError } from './errors.ts';

async function fakeImage(t: { after: (fn: () => unknown) => void }): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'boxlab-validate-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  for (const d of ['usr/bin', 'proc', 'dev', 'tmp', 'etc']) await mkdir(join(root, d), { recursive: true });
  // Debian's merged /usr: /bin is a link to usr/bin.
  await symlink('usr/bin', join(root, 'bin'));
  await writeFile(join(root, 'usr/bin/busybox'), '#!/bin/true\n', { mode: 0o755 });
  await symlink('busybox', join(root, 'usr/bin/sh'));
  await symlink('/bin/busybox', join(root, 'usr/bin/abs'));
  await symlink('/bin/bash', join(root, 'usr/bin/hostbash'));
  await symlink('../../../../../../../../bin/bash', join(root, 'usr/bin/escape'));
  await symlink('../../../../../../../../bin/busybox', join(root, 'usr/bin/clamped'));
  await symlink('loop2', join(root, 'usr/bin/loop1'));
  await symlink('loop1', join(root, 'usr/bin/loop2'));
  await writeFile(join(root, 'usr/bin/noexec'), 'x', { mode: 0o644 });
  await symlink('/etc', join(root, 'usr/bin/dirlink'));
  return root;
}

async function rejectsWith(p: Promise<unknown>, code: string, re: RegExp) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ImageError, `expected ImageError, got ${err}`);
    assert.equal(err.code, code);
    assert.match(err.message, re);
    return true;
  });
}

test('a shell reached through links inside the image is accepted', async (t) => {
  const root = await fakeImage(t);
  const v = await validateImage(root, '/bin/sh');
  assert.equal(v.shell, '/bin/sh');
  assert.equal(v.resolvedShell, '/usr/bin/busybox');
  assert.deepEqual(v.warnings, []);
  assert.equal((await validateImage(root, '/bin/abs')).resolvedShell, '/usr/bin/busybox');
  // ".." stops at the image root, as after pivot_root.
  assert.equal((await validateImage(root, '/usr/bin/clamped')).resolvedShell, '/usr/bin/busybox');
  // A bare name is searched on the image's PATH.
  assert.equal((await validateImage(root, 'sh')).shell, '/usr/bin/sh');
});

test('a link pointing at a host file is resolved in the image, not on the host', async (t) => {
  assert.ok(existsSync('/bin/bash'), 'the host must have /bin/bash for this test to mean something');
  const root = await fakeImage(t);
  await rejectsWith(validateImage(root, '/bin/hostbash'), 'ENOENT', /not found in image .* \(\/usr\/bin\/bash does not exist\)/);
  await rejectsWith(validateImage(root, '/bin/escape'), 'ENOENT', /not found in image .* \(\/usr\/bin\/bash does not exist\)/);
  const r = await resolveInImage(root, '/usr/bin/abs');
  assert.equal(r.host, join(root, 'usr/bin/busybox'));
});

test('missing, looping, non-executable and directory shells are refused with clear errors', async (t) => {
  const root = await fakeImage(t);
  await rejectsWith(validateImage(root, '/bin/zsh'), 'ENOENT', /shell \/bin\/zsh not found in image .*\(\/usr\/bin\/zsh does not exist\)/);
  await rejectsWith(validateImage(root, '/bin/loop1'), 'ELOOP', /too many symlinks/);
  await rejectsWith(validateImage(root, '/bin/noexec'), 'EACCES', /is not executable/);
  await rejectsWith(validateImage(root, '/bin/dirlink'), 'EACCES', /resolves to \/etc\) .* is not a regular file/);
  await rejectsWith(validateImage(root, '/bin/busybox/x'), 'ENOTDIR', /not a directory/);
  await rejectsWith(validateImage(join(root, 'nope'), '/bin/sh'), 'ENOENT', /image not found at/);
  await rejectsWith(validateImage(join(root, 'usr/bin/busybox'), '/bin/sh'), 'ENOTDIR', /is not a directory/);
});

test('missing mount points are reported as warnings', async (t) => {
  const root = await fakeImage(t);
  await rm(join(root, 'proc'), { recursive: true });
  assert.deepEqual((await validateImage(root, '/bin/sh')).warnings, ['image has no /proc directory']);
});

test('imageInfo counts non-directories and hard-linked bytes once', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'boxlab-info-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, 'a/b'), { recursive: true });
  await writeFile(join(root, 'a/one'), Buffer.alloc(1000));
  await writeFile(join(root, 'a/b/two'), Buffer.alloc(24));
  await link(join(root, 'a/one'), join(root, 'a/b/hard'));
  await symlink('one', join(root, 'a/s'));
  const info = await imageInfo(root);
  assert.equal(info.files, 4);
  assert.equal(info.sizeBytes, 1000 + 24 + 3);
  assert.match(info.name, /^boxlab-info-/);
});
