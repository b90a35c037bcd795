// Unit tests of the build-beside-and-rename step: the destination is whole or absent, and failures leave nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readdir, readFile, writeFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildAtomically, mountsUnder } from './atomic.ts';

async function parentDir(t: { after: (fn: () => unknown) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'boxlab-atomic-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('the image appears at dest only when the build finished, with a 0755 root', async (t) => {
  const parent = await parentDir(t);
  const dest = join(parent, 'images/busybox');
  let sawDestDuringBuild = true;
  const r = await buildAtomically(dest, async (tmp) => {
    assert.equal(join(tmp, '..'), join(parent, 'images'), 'temp dir sits beside dest');
    await writeFile(join(tmp, 'marker'), 'new');
    sawDestDuringBuild = await stat(dest).then(
      () => true,
      () => false,
    );
  });
  assert.equal(r, 'built');
  assert.equal(sawDestDuringBuild, false);
  assert.equal(await readFile(join(dest, 'marker'), 'utf8'), 'new');
  assert.equal((await stat(dest)).mode & 0o7777, 0o755);
  assert.deepEqual(await readdir(join(parent, 'images')), ['busybox']);
});

test('a failing step leaves no dest and no temp dir, and the error comes through', async (t) => {
  const parent = await parentDir(t);
  const dest = join(parent, 'busybox');
  await assert.rejects(
    buildAtomically(dest, async (tmp) => {
      await mkdir(join(tmp, 'bin/deep'), { recursive: true });
      await writeFile(join(tmp, 'bin/deep/file'), 'half');
      throw new Error('injected failure at step 2');
    }),
    /injected failure at step 2/,
  );
  assert.deepEqual(await readdir(parent), []);
});

test('a failing rebuild keeps the old image untouched', async (t) => {
  const parent = await parentDir(t);
  const dest = join(parent, 'busybox');
  await buildAtomically(dest, (tmp) => writeFile(join(tmp, 'marker'), 'old'));
  await assert.rejects(
    buildAtomically(dest, async () => Promise.reject(new Error('boom'))),
    /boom/,
  );
  assert.equal(await readFile(join(dest, 'marker'), 'utf8'), 'old');
  assert.deepEqual(await readdir(parent), ['busybox']);
});

test('replace swaps in the new image; replace:false keeps the existing one', async (t) => {
  const parent = await parentDir(t);
  const dest = join(parent, 'busybox');
  await buildAtomically(dest, (tmp) => writeFile(join(tmp, 'marker'), 'one'));
  assert.equal(await buildAtomically(dest, (tmp) => writeFile(join(tmp, 'marker'), 'two')), 'built');
  assert.equal(await readFile(join(dest, 'marker'), 'utf8'), 'two');
  const kept = await buildAtomically(dest, (tmp) => writeFile(join(tmp, 'marker'), 'three'), { replace: false });
  assert.equal(kept, 'existing');
  assert.equal(await readFile(join(dest, 'marker'), 'utf8'), 'two');
  assert.deepEqual(await readdir(parent), ['busybox'], 'no .old or .building dirs left');
});

test('mountsUnder reads mountinfo, unescapes octal and lists deepest first', async () => {
  const info = [
    '22 1 8:1 / / rw - ext4 /dev/sda1 rw',
    '30 22 0:5 / /nonexistent/img\\040x/proc rw - proc proc rw',
    '31 30 0:6 / /nonexistent/img\\040x/proc/sys/fs/binfmt_misc rw - binfmt_misc x rw',
    '32 22 0:7 / /nonexistent/img\\040xy rw - tmpfs t rw',
    '',
  ].join('\n');
  assert.deepEqual(await mountsUnder('/nonexistent/img x', info), [
    '/nonexistent/img x/proc/sys/fs/binfmt_misc',
    '/nonexistent/img x/proc',
  ]);
});
