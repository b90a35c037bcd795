// No-follow file access for the sampler: every lookup goes through an open directory fd, one component at a time.
import { closeSync, constants, fstatSync, lstatSync, openSync, opendirSync, readSync, readlinkSync, type Stats } from 'node:fs';

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = constants;
// Not in node's fs.constants; Linux's value (asm-generic/fcntl.h). Fds never leak into a spawned child.
const O_CLOEXEC = 0o2000000;

/**
 * "/proc/self/fd/N/name" resolves N to the very directory we opened (a magic link, proc(5)) and then looks up
 * one name in it: openat(N, name) without openat. With O_NOFOLLOW on that last name, a symlink the learner
 * planted, or a directory swapped for one between our lstat and our open, fails with ELOOP/ENOTDIR instead of
 * leading us out of the box onto the host's files.
 */
export function at(dirFd: number, name?: string | Buffer): string | Buffer {
  const base = `/proc/self/fd/${dirFd}`;
  if (name === undefined) return base;
  return typeof name === 'string' ? `${base}/${name}` : Buffer.concat([Buffer.from(`${base}/`), name]);
}

// EAGAIN: a FIFO opened O_NONBLOCK with a writer and nothing written: treated as unreadable, never waited on.
const GONE = new Set(['ENOENT', 'ENOTDIR', 'ELOOP', 'ESRCH', 'EACCES', 'EPERM', 'ENXIO', 'EINVAL', 'EAGAIN']);
/** The process exited or the file vanished mid-walk: expected, never an error. */
export function gone(err: unknown): boolean {
  return GONE.has((err as NodeJS.ErrnoException).code ?? '');
}

function tryOr<T>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch (err) {
    if (gone(err)) return fallback;
    throw err;
  }
}

/** Opens a directory without following a final symlink; `path` is absolute or a name under dirFd. */
export function openDir(path: string | Buffer, dirFd?: number): number | null {
  const p = dirFd === undefined ? path : at(dirFd, path);
  return tryOr(() => openSync(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), null);
}

export function closeFd(fd: number | null): void {
  if (fd !== null) tryOr(() => closeSync(fd), undefined);
}

/**
 * At most `max` bytes of a regular file under dirFd (never a symlink, never a FIFO that could block us).
 * /proc files report size 0, so this reads until EOF or the cap rather than trusting st_size.
 */
export function readAt(dirFd: number, name: string, max: number): Buffer | null {
  const fd = tryOr(() => openSync(at(dirFd, name), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), null);
  if (fd === null) return null;
  try {
    if (!fstatSync(fd).isFile()) return null;
    const buf = Buffer.allocUnsafe(Math.min(max, 64 * 1024));
    let out = buf;
    let n = 0;
    for (;;) {
      if (n === out.length) {
        if (out.length >= max) break;
        const bigger = Buffer.allocUnsafe(Math.min(max, out.length * 2));
        out.copy(bigger, 0, 0, n);
        out = bigger;
      }
      const r = tryOr(() => readSync(fd, out, n, out.length - n, null), -1);
      if (r < 0) return n ? out.subarray(0, n) : null;
      if (r === 0) break;
      n += r;
    }
    return out.subarray(0, n);
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
  const fd = tryOr(() => openSync(at(dirFd, name), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), null);
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
  const dir = tryOr(() => opendirSync(at(dirFd) as string, { encoding: 'buffer' as BufferEncoding, bufferSize: 64 }), null);
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

/** lstat of one name under dirFd; null when it vanished. */
export function lstatAt(dirFd: number, name: Buffer | string): Stats | null {
  return tryOr(() => lstatSync(at(dirFd, name), { throwIfNoEntry: false }) ?? null, null);
}

/** The target text of a symlink (never resolved), or null. */
export function readlinkAt(dirFd: number, name: Buffer | string): Buffer | null {
  return tryOr(() => readlinkSync(at(dirFd, name), { encoding: 'buffer' }), null);
}
