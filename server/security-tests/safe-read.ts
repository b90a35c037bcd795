// safe-read.ts: host-side reads and writes of paths a box controls (its upper layer, its /proc) that never follow a link it planted.
import fs from 'node:fs';

const C = fs.constants;

/** Judge0's CVE-2024-28185/28189: the host read and wrote box files by path and followed a symlink the submission had
 * put there. Everything here walks one component at a time with O_NOFOLLOW, so a link anywhere on the path fails. */
export class UnsafePathError extends Error {
  readonly code: string;
  readonly syscall: string;
  readonly path: string;
  constructor(code: string, syscall: string, path: string, why: string) {
    super(`${syscall}(${path}) refused: ${code} (${why})`);
    this.name = 'UnsafePathError';
    this.code = code;
    this.syscall = syscall;
    this.path = path;
  }
}

function components(rel: string): string[] {
  const parts = rel.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new UnsafePathError('EPERM', 'open', rel, '".." could climb out of the box root');
  if (parts.length === 0) throw new UnsafePathError('EISDIR', 'open', rel, 'no file named');
  return parts;
}

function wrap(err: unknown, rel: string): never {
  const e = err as NodeJS.ErrnoException;
  if (e instanceof UnsafePathError) throw e;
  // open(2): O_NOFOLLOW on a symlink gives ELOOP; O_DIRECTORY|O_NOFOLLOW on a symlink to a dir gives ENOTDIR or ELOOP.
  const why = e.code === 'ELOOP' || e.code === 'ENOTDIR' ? 'a symlink (or non-directory) on the path' : e.message;
  throw new UnsafePathError(e.code ?? 'EIO', e.syscall ?? 'open', rel, why);
}

/**
 * Opens `rel` beneath the trusted host directory `root`. Node has no openat(2), so each step opens
 * /proc/self/fd/<dirfd>/<name>: the magic link jumps to the directory already opened (not to a path that the box
 * could swap), and O_NOFOLLOW applies to <name>. Renames by the box during the walk can only move us within root.
 */
export function openBeneath(root: string, rel: string, flags: number, mode = 0o644): number {
  const parts = components(rel);
  let dir: number;
  try {
    dir = fs.openSync(root, C.O_RDONLY | C.O_DIRECTORY);
  } catch (err) {
    wrap(err, root);
  }
  try {
    for (const name of parts.slice(0, -1)) {
      const next = fs.openSync(`/proc/self/fd/${dir}/${name}`, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW);
      fs.closeSync(dir);
      dir = next;
    }
    // O_NONBLOCK: opening a FIFO the box made must not hang the server; O_NOCTTY: nor adopt a terminal.
    return fs.openSync(`/proc/self/fd/${dir}/${parts[parts.length - 1]}`, flags | C.O_NOFOLLOW | C.O_NONBLOCK | C.O_NOCTTY, mode);
  } catch (err) {
    wrap(err, rel);
  } finally {
    fs.closeSync(dir);
  }
}

function requireRegular(fd: number, rel: string): fs.Stats {
  const st = fs.fstatSync(fd);
  if (!st.isFile()) throw new UnsafePathError('EINVAL', 'fstat', rel, 'not a regular file (FIFO, socket, device or dir)');
  return st;
}

/** Reads a regular file beneath `root` (at most `maxBytes`, else EFBIG): the box's upper layer or /proc/<pid>. */
export function safeReadBeneath(root: string, rel: string, maxBytes = 1 << 20): Buffer {
  const fd = openBeneath(root, rel, C.O_RDONLY);
  try {
    requireRegular(fd, rel);
    // /proc files report size 0, so read to EOF rather than trusting st.size.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.alloc(Math.min(65536, maxBytes + 1 - total));
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
      if (total > maxBytes) throw new UnsafePathError('EFBIG', 'read', rel, `larger than ${maxBytes} bytes`);
    }
    return Buffer.concat(chunks);
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes (creates or truncates) a regular file beneath `root`; `owner` chowns it, e.g. to the box's root uid. */
export function safeWriteBeneath(root: string, rel: string, data: string | Buffer, opts: { mode?: number; owner?: { uid: number; gid: number } } = {}): void {
  const fd = openBeneath(root, rel, C.O_WRONLY | C.O_CREAT, opts.mode ?? 0o644);
  try {
    requireRegular(fd, rel);
    fs.ftruncateSync(fd, 0);
    if (opts.owner) fs.fchownSync(fd, opts.owner.uid, opts.owner.gid);
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Reads /proc/<pid>/<rel> for the x-ray without following links: /proc/<pid>/root, cwd, exe and fd/N are magic links
 * into the box, where an absolute symlink would then resolve against the host's root (the classic mistake), so they
 * are refused. The caller should check that <pid> is still the box's process (start time, see state.ts).
 */
export function readProcFile(pid: number, rel: string, maxBytes = 1 << 20): Buffer {
  if (!Number.isInteger(pid) || pid <= 0) throw new UnsafePathError('EINVAL', 'open', `/proc/${pid}`, 'bad pid');
  return safeReadBeneath(`/proc/${pid}`, rel, maxBytes);
}
