// The fd-based reads (no root): links are described, never followed; a FIFO never blocks; vanished names are null; caps hold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { at, closeFd, gone, listAt, lstatAt, openDir, readAt, readFileBeneath, readlinkAt, readText, readUpTo } from './index.ts';
import { tempDir } from './testing/fixture-layer.ts';

function tree(t: { after(fn: () => void): void }) {
  const root = tempDir(t);
  const box = path.join(root, 'box');
  const host = path.join(root, 'host');
  fs.mkdirSync(path.join(box, 'dir'), { recursive: true });
  fs.mkdirSync(host);
  fs.writeFileSync(path.join(host, 'secret'), 'HOST SECRET');
  fs.writeFileSync(path.join(box, 'ok.txt'), 'hello');
  fs.symlinkSync(path.join(host, 'secret'), path.join(box, 'link')); // planted: a link to a host file
  fs.symlinkSync(host, path.join(box, 'dlink')); // planted: a link to a host directory
  const fds: number[] = [];
  const open = (p: string, dirFd?: number) => {
    const fd = openDir(p, dirFd);
    if (fd !== null) fds.push(fd);
    return fd;
  };
  t.after(() => fds.forEach((fd) => closeFd(fd)));
  return { box, host, open };
}

test('at(): /proc/self/fd/N/name, with Buffer names kept as bytes', () => {
  assert.equal(at(7), '/proc/self/fd/7');
  assert.equal(at(7, 'x'), '/proc/self/fd/7/x');
  const raw = Buffer.from([0x66, 0xff, 0x0a]);
  assert.deepEqual(at(7, raw), Buffer.concat([Buffer.from('/proc/self/fd/7/'), raw]));
});

test('openDir refuses a link as its last name; the naive open follows it', (t) => {
  const { box, open } = tree(t);
  const naive = fs.openSync(path.join(box, 'dlink'), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  assert.ok(fs.readdirSync(`/proc/self/fd/${naive}`).includes('secret'), 'the naive open lands in the host dir');
  fs.closeSync(naive);
  assert.equal(open(path.join(box, 'dlink')), null);
  const b = open(box);
  assert.ok(b !== null);
  assert.equal(open('dlink', b), null);
  assert.ok(open('dir', b) !== null);
  assert.equal(open('missing', b), null);
});

test('readAt/readText read plain files and refuse links, FIFOs and directories without blocking', (t) => {
  const { box, open } = tree(t);
  const b = open(box)!;
  assert.equal(fs.readFileSync(at(b, 'link'), 'utf8'), 'HOST SECRET', 'a path read through the dir fd still follows');
  assert.equal(readAt(b, 'ok.txt', 100)?.toString(), 'hello');
  assert.equal(readText(b, 'ok.txt', 100), 'hello');
  assert.equal(readAt(b, 'link', 100), null);
  assert.equal(readText(b, 'link', 100), null);
  assert.equal(readAt(b, 'missing', 100), null);
  assert.equal(readAt(b, 'dir', 100), null);
  execFileSync('mkfifo', [path.join(box, 'fifo')]);
  const t0 = performance.now();
  assert.equal(readAt(b, 'fifo', 100), null);
  assert.equal(readText(b, 'fifo', 100), '', 'a FIFO with no writer reads EOF at once');
  assert.ok(performance.now() - t0 < 1000, 'returned at once');
});

test('a name with "/" has its leading names looked up by path: kernel-owned procfs dirs only; box paths use beneath.ts', (t) => {
  const { box, open } = tree(t);
  const b = open(box)!;
  // Pinned on purpose: procs.ts reads task/<tid>/children and kernel.ts ns/<kind> this way (one open, not three), which
  // is safe only because procfs, not the box, owns those directories. A box path with a link midway is refused by
  // the walk in beneath.ts instead.
  assert.equal(readAt(b, 'dlink/secret', 100)?.toString(), 'HOST SECRET');
  assert.throws(() => readFileBeneath(box, 'dlink/secret'), { code: /^(ELOOP|ENOTDIR)$/ });
  const self = open(`/proc/${process.pid}`)!;
  assert.match(readText(self, `task/${process.pid}/status`, 4096)!, /^Name:/);
});

test('reads are cut at max; /proc files (st_size 0) are read to EOF', (t) => {
  const { box, open } = tree(t);
  fs.writeFileSync(path.join(box, 'big'), Buffer.alloc(200_000, 65));
  const b = open(box)!;
  assert.equal(readAt(b, 'big', 150_000)?.length, 150_000);
  assert.equal(readAt(b, 'big', 1_000_000)?.length, 200_000);
  assert.equal(readAt(b, 'big', 0)?.length, 0);
  assert.equal(readText(b, 'big', 1_000_000)?.length, 64 * 1024, 'readText is capped at its 64 KiB scratch');
  const self = open(`/proc/${process.pid}`)!;
  assert.equal(fs.statSync(`/proc/${process.pid}/status`).size, 0);
  assert.match(readAt(self, 'status', 64 * 1024)!.toString(), /^Name:[\s\S]*\nPid:\s+\d+/);
  const fd = fs.openSync(path.join(box, 'ok.txt'), 'r');
  try {
    assert.equal(readUpTo(fd, 3).toString(), 'hel');
    assert.equal(readUpTo(fd, 100).toString(), 'lo', 'continues from the fd position');
  } finally {
    fs.closeSync(fd);
  }
});

test('lstatAt and readlinkAt describe a link without following it', (t) => {
  const { box, host, open } = tree(t);
  const b = open(box)!;
  assert.equal(lstatAt(b, 'link')?.isSymbolicLink(), true);
  assert.equal(lstatAt(b, Buffer.from('ok.txt'))?.isFile(), true);
  assert.equal(readlinkAt(b, 'link')?.toString(), path.join(host, 'secret'));
  assert.equal(readlinkAt(b, 'ok.txt'), null, 'not a link');
  assert.equal(lstatAt(b, 'missing'), null);
  assert.equal(readlinkAt(b, 'missing'), null);
});

test('listAt: sorted by bytes, cut at max (truncated), empty when the directory vanished', (t) => {
  const { box, open } = tree(t);
  for (const n of ['b', 'a', 'c']) fs.writeFileSync(path.join(box, 'dir', n), '');
  const d = open(path.join(box, 'dir'))!;
  assert.deepEqual(listAt(d, 10), { names: ['a', 'b', 'c'].map((n) => Buffer.from(n)), truncated: false });
  assert.equal(listAt(d, 2).truncated, true);
  assert.equal(listAt(d, 2).names.length, 2);
  fs.rmSync(path.join(box, 'dir'), { recursive: true });
  assert.deepEqual(listAt(d, 10), { names: [], truncated: false });
  assert.equal(readAt(d, 'a', 10), null, 'names under a removed directory are gone');
});

test('gone(): vanished names and exited processes are expected; other errors are not', () => {
  for (const code of ['ENOENT', 'ENOTDIR', 'ELOOP', 'ESRCH', 'EACCES', 'EPERM', 'ENXIO', 'EINVAL', 'EAGAIN']) {
    assert.equal(gone(Object.assign(new Error(code), { code })), true, code);
  }
  for (const code of ['EMFILE', 'EIO', undefined]) assert.equal(gone(Object.assign(new Error('x'), { code })), false, String(code));
  assert.equal(readAt(999_999, 'status', 10), null, 'a directory fd that is no longer open: ENOENT, gone');
  assert.throws(() => readUpTo(999_999, 10), { code: 'EBADF' }, 'a strict read throws');
  assert.throws(() => readUpTo(999_999, 10, true), { code: 'EBADF' }, 'EBADF is a bug of ours, not a box that went away');
});
