// Fd-based reads of a live box (the x-ray sampler's): every lookup is one name under an open directory fd; a name that
// vanished, a process that exited or a link the box planted reads as null, never as an error. O_NOFOLLOW guards the last
// name only: a `name` with "/" (task/<tid>/children, ns/<kind>) is for procfs, whose directories the kernel owns;
// a box path of several names goes through beneath.ts, which opens every step with O_NOFOLLOW.
import { closeSync, fstatSync, lstatSync, opendirSync, readlinkSync, readSync, type Stats } from 'node:fs';
import { at, O_RDONLY, openDirAt, openFileAt, tryOr } from './at.ts';

/** Opens a directory without following a final symlink; `path` is absolute or a name under dirFd. */
export function openDir(path: string | Buffer, dirFd?: number): number | null {
  return tryOr(() => openDirAt(dirFd, path), null);
}

export function closeFd(fd: number | null): void {
  if (fd !== null) tryOr(() => closeSync(fd), undefined);
}

/**
 * Reads fd until EOF or `max` bytes. /proc files report size 0, so this never trusts st_size. With tolerateGone, a
 * read that fails because the process went away ends the read: what came before it, or null.
 */
export function readUpTo(fd: number, max: number): Buffer;
export function readUpTo(fd: number, max: number, tolerateGone: true): Buffer | null;
export function readUpTo(fd: number, max: number, tolerateGone = false): Buffer | null {
  let out = Buffer.allocUnsafe(Math.min(max, 64 * 1024));
  let n = 0;
  for (;;) {
    if (n === out.length) {
      if (out.length >= max) break;
      const bigger = Buffer.allocUnsafe(Math.min(max, out.length * 2));
      out.copy(bigger, 0, 0, n);
      out = bigger;
    }
    const r = tolerateGone ? tryOr(() => readSync(fd, out, n, out.length - n, null), -1) : readSync(fd, out, n, out.length - n, null);
    if (r < 0) return n ? out.subarray(0, n) : null;
    if (r === 0) break;
    n += r;
  }
  return out.subarray(0, n);
}

/** At most `max` bytes of a regular file under dirFd (never a symlink, never a FIFO that could block us), or null. */
export function readAt(dirFd: number, name: string, max: number): Buffer | null {
  const fd = tryOr(() => openFileAt(dirFd, name, O_RDONLY), null);
  if (fd === null) return null;
  try {
    if (!fstatSync(fd).isFile()) return null;
    return readUpTo(fd, max, true);
  } finally {
    closeFd(fd);
  }
}

// One scratch buffer for the many small /proc reads of a sample (status, cmdline, children): no allocation per read.
const scratch = Buffer.allocUnsafe(64 * 1024);

/**
 * Text of a small /proc file under dirFd, at most `max` bytes (≤ 64 KiB), or null. O_NOFOLLOW and O_NONBLOCK
 * as in readAt; no fstat: every caller reads procfs files, which are regular (a FIFO would read EOF or EAGAIN).
 */
export function readText(dirFd: number, name: string, max: number, encoding: BufferEncoding = 'utf8'): string | null {
  const fd = tryOr(() => openFileAt(dirFd, name, O_RDONLY), null);
  if (fd === null) return null;
  try {
    const cap = Math.min(max, scratch.length);
    let n = 0;
    for (;;) {
      const r = tryOr(() => readSync(fd, scratch, n, cap - n, null), -1);
      if (r < 0) return n ? scratch.toString(encoding, 0, n) : null;
      if (r === 0 || (n += r) >= cap) break;
    }
    return scratch.toString(encoding, 0, n);
  } finally {
    closeFd(fd);
  }
}

/** Names in a directory fd, at most `max` (a huge directory is cut, not read whole), sorted by bytes. */
export function listAt(dirFd: number, max: number): { names: Buffer[]; truncated: boolean } {
  const names: Buffer[] = [];
  let truncated = false;
  const dir = tryOr(() => opendirSync(at(dirFd), { encoding: 'buffer' as BufferEncoding, bufferSize: 64 }), null);
  if (!dir) return { names, truncated };
  try {
    for (;;) {
      const e = tryOr(() => dir.readSync(), null);
      if (!e) break;
      if (names.length >= max) {
        truncated = true;
        break;
      }
      names.push(e.name as unknown as Buffer);
    }
  } finally {
    tryOr(() => dir.closeSync(), undefined);
  }
  names.sort(Buffer.compare);
  return { names, truncated };
}

/** lstat of one name under dirFd (a link is described, not followed); null when it vanished. */
export function lstatAt(dirFd: number, name: Buffer | string): Stats | null {
  return tryOr(() => lstatSync(at(dirFd, name), { throwIfNoEntry: false }) ?? null, null);
}

/** The target text of a symlink (never resolved), or null. */
export function readlinkAt(dirFd: number, name: Buffer | string): Buffer | null {
  return tryOr(() => readlinkSync(at(dirFd, name), { encoding: 'buffer' }), null);
}
