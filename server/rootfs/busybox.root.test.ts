// Root test: really builds the busybox image from Debian's package, runs its shell under chroot, then removes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lstat, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBusyboxImage } from './busybox.ts';
import { imageInfo, validateImage } from './validate.ts';

test('busybox image builds in seconds and its /bin/sh runs', {
  skip: process.getuid?.() !== 0 && 'needs root (chroot)',
  timeout: 180_000,
}, async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'boxlab-bbroot-'));
  t.after(() => rm(base, { recursive: true, force: true }));
  const dest = join(base, 'images/busybox');
  const fractions: number[] = [];
  const t0 = performance.now();
  await buildBusyboxImage(dest, (_m, f) => f !== undefined && fractions.push(f), { workDir: base });
  const ms = Math.round(performance.now() - t0);
  t.diagnostic(`busybox image built in ${ms} ms`);
  assert.equal(fractions.at(-1), 1);

  const out = execFileSync('chroot', [dest, '/bin/sh', '-c', 'echo ok'], { encoding: 'utf8' });
  assert.equal(out, 'ok\n');
  // Links in every dir --list-full names work, and login shells get the profile's PATH and prompt.
  const login = execFileSync(
    'chroot',
    [dest, '/usr/bin/env', '-i', '/bin/sh', '-l', '-c', 'echo "$PATH"; /sbin/pidof --help >/dev/null 2>&1; ls /usr/sbin/chroot; id -un'],
    { encoding: 'utf8' },
  );
  assert.equal(login, '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n/usr/sbin/chroot\nroot\n');

  assert.ok((await lstat(join(dest, 'bin/busybox'))).isFile());
  for (const p of ['', 'bin/busybox', 'bin/sh', 'etc/passwd', 'tmp', 'usr/local/bin']) {
    const st = await lstat(join(dest, p));
    assert.equal(st.uid, 0, `${p} owned by root`);
    assert.equal(st.gid, 0, `${p} group root`);
  }
  assert.equal((await stat(join(dest, 'tmp'))).mode & 0o7777, 0o1777);
  const v = await validateImage(dest, '/bin/sh');
  assert.equal(v.resolvedShell, '/bin/busybox');
  const info = await imageInfo(dest);
  assert.ok(info.files > 250, `${info.files} files`);
  assert.ok(info.sizeBytes > 1_000_000 && info.sizeBytes < 5_000_000, `${info.sizeBytes} bytes`);
  assert.deepEqual((await readdir(base)).sort(), ['images'], 'download dir removed');
  assert.deepEqual(await readdir(join(base, 'images')), ['busybox'], 'no temp dirs beside the image');
});
