// Root test: removing a failed build unmounts what was left mounted inside it instead of deleting through the mount.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildAtomically, mountsUnder } from './atomic.ts';

test('cleanup after a failure inside a build with a live mount', { skip: process.getuid?.() !== 0 && 'needs root' }, async (t) => {
  const parent = await mkdtemp(join(tmpdir(), 'boxlab-atomic-root-'));
  // A host dir bind-mounted into the build, standing in for debootstrap's /dev or /proc: it must survive.
  const hostDir = await mkdtemp(join(tmpdir(), 'boxlab-hostdir-'));
  await writeFile(join(hostDir, 'precious'), 'keep me');
  let mounted = '';
  t.after(async () => {
    if (mounted && (await mountsUnder(mounted)).length) execFileSync('umount', ['-l', mounted]);
    await rm(parent, { recursive: true, force: true });
    await rm(hostDir, { recursive: true, force: true });
  });
  await assert.rejects(
    buildAtomically(join(parent, 'debian'), async (tmp) => {
      mounted = join(tmp, 'dev');
      await mkdir(mounted);
      execFileSync('mount', ['--bind', hostDir, mounted]);
      throw new Error('debootstrap died');
    }),
    /debootstrap died/,
  );
  assert.deepEqual(await readdir(parent), []);
  assert.deepEqual(await readdir(hostDir), ['precious'], 'the bind-mounted host dir was not deleted through');
  assert.deepEqual(await mountsUnder(parent), []);
});
