// Box-relative paths walked from a trusted host directory one O_NOFOLLOW step at a time; strict reads and writes throw.
import { closeSync, fchownSync, fstatSync, ftruncateSync, writeSync, type Stats } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { O_CREAT, O_RDONLY, O_WRONLY, openDirAt, openFileAt, openRoot } from './at.ts';
import { readUpTo } from './fd.ts';

/** Judge0's CVE-2024-28185/28189: the host read and wrote box files by path and followed a symlink the submission had
 * put there. A path through a box that would need a link, a `..` or a non-regular file is refused with this. */
export class UnsafePathError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  readonly path: string;
  constructor(code: string, syscall: string, path: string, why: string) {
    super(`${syscall}(${path}) refused: ${code} (${why})`);
    this.name = 'UnsafePathError';
    this.code = code;
    // Negative, as in Node's own errno errors.
    this.errno = -((osConstants.errno as Record<string, number>)[code] ?? 0);
    this.syscall = syscall;
    this.path = path;
  }
}

/** The names of a box-relative path ("/root//a/./b" → root, a, b); `..` is refused before anything is opened. */
export function splitBoxPath(rel: string): string[] {
  const parts = rel.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new UnsafePathError('EPERM', 'open', rel, '".." is not allowed: it could climb out of the box root');
  return parts;
}

/** As splitBoxPath, and at least one name: the file to open. */
export function fileBoxPath(rel: string): string[] {
  const parts = splitBoxPath(rel);
  if (parts.length === 0) throw new UnsafePathError('EISDIR', 'open', rel, 'no file named');
  return parts;
}

/** Steps from dirFd down `names`, each a directory opened with O_NOFOLLOW. Takes dirFd (closed here, also on error);
 * returns the last directory's fd. A rename by the box during the walk can only move us within its own tree. */
export function descend(dirFd: number, names: readonly string[]): number {
  let dir = dirFd;
  try {
    for (const name of names) {
      const next = openDirAt(dir, name);
      closeSync(dir);
      dir = next;
    }
  } catch (err) {
    closeSync(dir);
    throw err;
  }
  return dir;
}

/** The directory `names` beneath the trusted `root`, no link on the way followed; errno errors are thrown as they are. */
export function openDirBeneath(root: string, names: readonly string[]): number {
  return descend(openRoot(root), names);
}

function wrap(err: unknown, path: string): never {
  if (err instanceof UnsafePathError) throw err;
  const e = err as NodeJS.ErrnoException;
  // open(2): O_NOFOLLOW on a symlink gives ELOOP; O_DIRECTORY|O_NOFOLLOW on a symlink to a dir gives ENOTDIR or ELOOP.
  const why = e.code === 'ELOOP' || e.code === 'ENOTDIR' ? 'a symlink (or non-directory) on the path' : e.message;
  throw new UnsafePathError(e.code ?? 'EIO', e.syscall ?? 'open', path, why);
}

/** Opens `rel` beneath the trusted host directory `root` with `flags` (O_NOFOLLOW, O_NONBLOCK, O_NOCTTY added). */
export function openBeneath(root: string, rel: string, flags: number, mode = 0o644): number {
  const parts = fileBoxPath(rel);
  let dir: number;
  try {
    dir = openRoot(root);
  } catch (err) {
    wrap(err, root);
  }
  try {
    dir = descend(dir, parts.slice(0, -1));
  } catch (err) {
    wrap(err, rel);
  }
  try {
    return openFileAt(dir, parts[parts.length - 1]!, flags, mode);
  } catch (err) {
    wrap(err, rel);
  } finally {
    closeSync(dir);
  }
}

function requireRegular(fd: number, rel: string): Stats {
  const st = fstatSync(fd);
  if (!st.isFile()) throw new UnsafePathError('EINVAL', 'fstat', rel, 'not a regular file (FIFO, socket, device or dir)');
  return st;
}

/** A whole regular file beneath `root` (at most `maxBytes`, else EFBIG): the box's upper layer or /proc/<pid>. */
export function readFileBeneath(root: string, rel: string, maxBytes = 1 << 20): Buffer {
  const fd = openBeneath(root, rel, O_RDONLY);
  try {
    requireRegular(fd, rel);
    const data = readUpTo(fd, maxBytes + 1);
    if (data.length > maxBytes) throw new UnsafePathError('EFBIG', 'read', rel, `larger than ${maxBytes} bytes`);
    return data;
  } finally {
    closeSync(fd);
  }
}

/** Writes (creates or truncates) a regular file beneath `root`; `owner` chowns it, e.g. to the box's root uid. */
export function writeFileBeneath(
  root: string,
  rel: string,
  data: string | Buffer,
  opts: { mode?: number; owner?: { uid: number; gid: number } } = {},
): void {
  const fd = openBeneath(root, rel, O_WRONLY | O_CREAT, opts.mode ?? 0o644);
  try {
    requireRegular(fd, rel);
    ftruncateSync(fd, 0);
    if (opts.owner) fchownSync(fd, opts.owner.uid, opts.owner.gid);
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
  } finally {
    closeSync(fd);
  }
}

/**
 * /proc/<pid>/<rel> without following links: /proc/<pid>/root, cwd, exe and fd/N are magic links into the box, where
 * an absolute symlink would then resolve against the host's root (the classic mistake), so they are refused. The
 * caller should check that <pid> is still the box's process (its start time or cgroup): pids are recycled.
 */
export function readProcFile(pid: number, rel: string, maxBytes = 1 << 20): Buffer {
  if (!Number.isInteger(pid) || pid <= 0) throw new UnsafePathError('EINVAL', 'open', `/proc/${pid}`, 'bad pid');
  return readFileBeneath(`/proc/${pid}`, rel, maxBytes);
}
