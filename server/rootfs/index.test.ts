// Unit tests of image location and ensureImage (build-on-first-use only for the default image).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const home = await mkdtemp(join(tmpdir(), 'boxlab-home-'));
process.env.BOXLAB_HOME = home;
const { DEFAULT_IMAGES_DIR, defaultImagePath, ensureImage } = await import('./index.ts');
test.after(() => rm(home, { recursive: true, force: true }));

test('BOXLAB_HOME sets the images dir', () => {
  assert.equal(DEFAULT_IMAGES_DIR, join(home, 'images'));
  assert.equal(defaultImagePath(), join(home, 'images/busybox'));
});

test('a missing non-default image is a clear error, and nothing is built', async () => {
  let built = 0;
  const build = async () => void built++;
  const missing = join(home, 'elsewhere/debian');
  await assert.rejects(
    ensureImage(missing, () => {}, { build }),
    (err: Error & { code?: string; path?: string }) => {
      assert.equal(err.message, `image not found at ${missing}: run \`boxlab rootfs\` or pass --base-dir`);
      assert.equal(err.code, 'ENOENT');
      assert.equal(err.path, missing);
      return true;
    },
  );
  assert.equal(built, 0);
});

test('the default image is built once when missing, even for concurrent callers', async () => {
  let built = 0;
  const build = async (dest: string, onProgress: (m: string, f?: number) => void) => {
    built++;
    onProgress('building', 0.5);
    await new Promise((r) => setTimeout(r, 20));
    await mkdir(dest, { recursive: true });
  };
  const msgs: string[] = [];
  const [a, b] = await Promise.all([
    ensureImage(defaultImagePath(), (m) => msgs.push(m), { build }),
    ensureImage(join(home, 'images/../images/busybox'), (m) => msgs.push(m), { build }),
  ]);
  assert.equal(a, defaultImagePath());
  assert.equal(b, defaultImagePath());
  assert.equal(built, 1);
  assert.deepEqual(msgs, ['building']);
  // Now present: returned as is.
  assert.equal(await ensureImage(defaultImagePath(), () => {}, { build }), defaultImagePath());
  assert.equal(built, 1);
});

test('an image path that is a file is refused', async () => {
  const file = join(home, 'not-a-dir');
  await writeFile(file, 'x');
  await assert.rejects(
    ensureImage(file, () => {}),
    /is not a directory/,
  );
});
