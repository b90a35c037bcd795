// The host reading what a box controls: links planted in the upper layer or reached through /proc/<pid>/root lead nowhere.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildProbeImage, SKIP, startBox, type ProbeImage } from './testing/harness.ts';
import { readFileBeneath, readProcFile, UnsafePathError, writeFileBeneath } from '../boxfs/index.ts';

const refused = (err: unknown) => err instanceof UnsafePathError && /^(ELOOP|ENOTDIR|EINVAL)$/.test(err.code);

describe('host-side reads and writes of box files', { skip: SKIP }, () => {
  let img: ProbeImage;
  let victimDir: string;
  before(async () => {
    img = await buildProbeImage();
    victimDir = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlab-sec-victim-'));
    fs.chmodSync(victimDir, 0o755);
    fs.writeFileSync(path.join(victimDir, 'victim'), 'original');
  });
  after(() => {
    img?.cleanup();
    if (victimDir) fs.rmSync(victimDir, { recursive: true, force: true });
  });

  test('a symlink the box planted is not followed by boxfs; a naive reader would leak /etc/shadow', async (t) => {
    const victim = path.join(victimDir, 'victim');
    const plant = [
      'ln -s /etc/shadow /root/.x',
      'ln -s /etc /root/d',
      `ln -s ${victim} /root/.w`,
      'mkfifo /root/.f',
      'echo hello > /root/ok.txt',
      'echo ready',
      'read x',
    ].join('; ');
    const live = await startBox({ baseDir: img.image, keepStdin: true, shell: '/bin/sh', args: ['-c', plant] });
    try {
      await live.waitFor(/ready/);
      const upper = live.box.layers.upper;
      const init = live.box.pids.init;
      // Control: boxfs does read plain files of the box.
      assert.equal(readFileBeneath(upper, 'root/ok.txt').toString(), 'hello\n');
      assert.equal(readProcFile(init, 'comm').toString(), 'sh\n');

      // The insecure answer, to prove the probe can fail: path-based reads follow the box's links to host files.
      const shadow = fs.readFileSync('/etc/shadow');
      assert.ok(fs.readFileSync(path.join(upper, 'root/.x')).equals(shadow), 'naive read of the upper layer follows the link');
      assert.ok(
        fs.readFileSync(`/proc/${init}/root/root/.x`).equals(shadow),
        'naive read via /proc/<pid>/root resolves it against the host root',
      );

      for (const rel of ['root/.x', 'root/d/shadow', 'root/.f']) {
        assert.throws(() => readFileBeneath(upper, rel), refused, `upper/${rel}`);
      }
      for (const rel of ['root/root/.x', 'root/etc/hostname', 'cwd/.x', 'exe']) {
        assert.throws(() => readProcFile(init, rel), refused, `/proc/${init}/${rel}`);
      }
      assert.throws(() => writeFileBeneath(upper, 'root/.w', 'pwned'), refused);
      assert.throws(() => writeFileBeneath(upper, 'root/d/pwned', 'pwned'), refused);
      assert.equal(fs.readFileSync(victim, 'utf8'), 'original');
      fs.writeFileSync(path.join(upper, 'root/.w'), 'pwned');
      assert.equal(fs.readFileSync(victim, 'utf8'), 'pwned', 'a naive write through the link clobbers the host file');
      fs.writeFileSync(victim, 'original');
      t.diagnostic('boxfs: ELOOP/ENOTDIR/EINVAL for .x, d/shadow, FIFO, /proc/<pid>/root and cwd; naive fs calls followed all of them');
    } finally {
      await live.close();
    }
  });
});
