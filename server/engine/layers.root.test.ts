// Root test on a real box: writes land only in the upper layer (copy-up, whiteouts), the image stays byte-identical, destroy removes the upper.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, constants, existsSync, fstatSync, lstatSync, openSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, test } from 'node:test';
import { BoxTracker, PipeShell, SKIP_NOT_ROOT, testImage, testNoLeftovers } from './testing/helpers.ts';

const tracker = new BoxTracker();
after(() => tracker.destroyAll());
const opts = { skip: SKIP_NOT_ROOT, timeout: 60_000 };

/** Fingerprint of image paths: type, mode, owner, size, mtime/ctime, and content hash / link target / listing. */
function snapshot(root: string, rels: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of rels) {
    const p = join(root, rel);
    const st = lstatSync(p);
    let body = '';
    if (st.isSymbolicLink()) body = `-> ${readlinkSync(p)}`;
    else if (st.isDirectory()) body = readdirSync(p).sort().join(',');
    else body = createHash('sha256').update(readFileSync(p)).digest('hex');
    out[rel] = `${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.size} m${st.mtimeMs} c${st.ctimeMs} ino${st.ino} ${body}`;
  }
  return out;
}

/** lstat of every component below `base`: each is a real directory, the last one is what it is; no link is followed. */
function lstatUnder(base: string, rel: string) {
  const parts = rel.split('/').filter(Boolean);
  let p = base;
  for (const [i, part] of parts.entries()) {
    p = join(p, part);
    const st = lstatSync(p);
    if (i < parts.length - 1) assert.ok(st.isDirectory() && !st.isSymbolicLink(), `${relative(base, p)} is not a plain directory`);
    else return { path: p, st };
  }
  throw new Error('empty path');
}

/** Reads a regular file with O_NOFOLLOW, so a symlink planted by the box could not redirect the host's read. */
function readNoFollow(path: string): string {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    assert.ok(fstatSync(fd).isFile());
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

const WATCH = ['etc', 'etc/hostname', 'etc/passwd', 'root', 'bin', 'bin/ls', 'bin/busybox'];

test(
  'overlay: /root/x, a changed /etc/hostname and a whiteout for rm /bin/ls land in upper only; the image is untouched',
  opts,
  async (t) => {
    t.after(() => tracker.destroyAll());
    const image = await testImage();
    const before = snapshot(image, WATCH);
    const sh = await PipeShell.open(tracker);
    const { box } = sh;
    assert.equal(box.layers.lower, image);
    const boxRootUid = Number(readFileSync(`/proc/${box.pids.init}/status`, 'utf8').match(/^Uid:\s+(\d+)/m)![1]);
    assert.ok(boxRootUid >= 2 ** 30, `box root is host uid ${boxRootUid}`);

    const w = await sh.run('echo hello-upper > /root/x && echo changed-name > /etc/hostname && rm /bin/ls && cat /root/x /etc/hostname');
    assert.equal(w.code, 0, sh.err);
    assert.equal(w.out, 'hello-upper\nchanged-name\n');
    const gone = await sh.run('[ -e /bin/ls ] || [ -L /bin/ls ]');
    assert.equal(gone.code, 1, '/bin/ls still visible in the box after rm');

    const upper = box.layers.upper;
    const x = lstatUnder(upper, 'root/x');
    assert.ok(x.st.isFile());
    assert.equal(readNoFollow(x.path), 'hello-upper\n');
    // Files the box makes belong to its root, which is an unprivileged host uid (user namespace mapping).
    assert.equal(x.st.uid, boxRootUid);
    const hn = lstatUnder(upper, 'etc/hostname');
    assert.ok(hn.st.isFile());
    assert.equal(readNoFollow(hn.path), 'changed-name\n');
    // overlayfs records a deletion of a lower file as a whiteout: a character device 0/0 (overlayfs.rst).
    const wh = lstatUnder(upper, 'bin/ls');
    assert.ok(wh.st.isCharacterDevice(), `upper/bin/ls mode ${wh.st.mode.toString(8)}`);
    assert.equal(wh.st.rdev, 0);
    // Nothing else the box did not touch was copied up.
    assert.equal(existsSync(join(upper, 'bin/busybox')), false);
    assert.equal(existsSync(join(upper, 'etc/passwd')), false);

    const afterWrites = snapshot(image, WATCH);
    assert.deepEqual(afterWrites, before, 'the image (lower layer) changed while the box wrote');
    assert.equal(readFileSync(join(image, 'etc/hostname'), 'utf8') === 'changed-name\n', false);

    const id = box.id;
    await box.destroy();
    assert.equal(existsSync(upper), false, 'upper dir left after destroy');
    assert.equal(existsSync(box.layers.merged), false, 'merged dir left after destroy');
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => l.includes(id));
    assert.deepEqual(mounts, []);
    assert.deepEqual(snapshot(image, WATCH), before, 'the image changed after destroy');
    t.diagnostic(`upper was ${upper}; image ${image} unchanged over ${WATCH.length} paths`);
  },
);

testNoLeftovers(tracker, opts);
