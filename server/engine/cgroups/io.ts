// File operations on cgroupfs behind an interface (so tests can fake the kernel) and errors that carry errno.
import fs from 'node:fs';
import os from 'node:os';
import { SyscallError } from '../../../native-bindings/errors.ts';
import { SandboxError, type StageName } from '../types.ts';

export interface CgroupIO {
  read(path: string): Promise<string>;
  /** One write() of the whole value, opened O_WRONLY|O_NOFOLLOW|O_TRUNC and never created. */
  write(path: string, data: string): Promise<void>;
  /** lstat-based: a symlink counts as existing but is never followed. */
  exists(path: string): Promise<boolean>;
  /** Single level; EEXIST is an error. */
  mkdir(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  /** Names of subdirectories (child cgroups); [] when the directory is missing. */
  listDirs(path: string): Promise<string[]>;
  /** kill(2); ESRCH (already gone) is not an error. */
  kill(pid: number, signal: NodeJS.Signals): void;
  /** lchown(2): cgroupfs has no symlinks, and a path that became one must not be followed. */
  chown(path: string, uid: number, gid: number): Promise<void>;
}

// O_NOFOLLOW: a symlink planted where a cgroup file should be (e.g. by a delegated, less trusted writer)
// must not redirect our root write elsewhere (open(2): fails with ELOOP). O_TRUNC is a no-op on kernfs.
const WRITE_FLAGS = fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW | fs.constants.O_TRUNC;
const READ_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW;

/**
 * Synchronous calls behind the async interface: a cgroupfs read or write is a few microseconds of kernel work,
 * while a libuv threadpool round trip costs ~70 us; a box makes ~20 of them on the create path (bench/).
 */
export const nodeIO: CgroupIO = {
  async read(p) {
    const fd = fs.openSync(p, READ_FLAGS);
    try {
      return fs.readFileSync(fd, 'utf8');
    } finally {
      fs.closeSync(fd);
    }
  },
  async write(p, data) {
    try {
      const fd = fs.openSync(p, WRITE_FLAGS);
      try {
        const buf = Buffer.from(data);
        // cgroupfs parses each write() on its own, so the value must go in one call.
        const bytesWritten = fs.writeSync(fd, buf, 0, buf.length, null);
        if (bytesWritten !== buf.length) {
          throw SyscallError.of({ syscall: 'write', code: 'EIO', path: p, message: `short write to ${p}` });
        }
      } finally {
        fs.closeSync(fd);
      }
    } catch (e) {
      throw withPath(e, p);
    }
  },
  async exists(p) {
    try {
      fs.lstatSync(p);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  },
  async mkdir(p) {
    fs.mkdirSync(p, { mode: 0o755 });
  },
  async rmdir(p) {
    fs.rmdirSync(p);
  },
  async listDirs(p) {
    try {
      const ents = fs.readdirSync(p, { withFileTypes: true });
      return ents.filter((e) => e.isDirectory()).map((e) => e.name);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  },
  async chown(p, uid, gid) {
    try {
      fs.lchownSync(p, uid, gid);
    } catch (e) {
      throw withPath(e, p);
    }
  },
  kill(pid, signal) {
    try {
      process.kill(pid, signal);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
    }
  },
};

/** FileHandle.write errors carry no path; the file is what users need to see. */
function withPath(e: unknown, p: string): unknown {
  if (e && typeof e === 'object' && !('path' in e)) Object.assign(e, { path: p });
  return e;
}

export function errCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/** A cgroup file that may be missing (its controller off there, the cgroup removed meanwhile): null then. */
export async function readOptional(io: CgroupIO, p: string): Promise<string | null> {
  try {
    return await io.read(p);
  } catch (e) {
    if (errCode(e) === 'ENOENT') return null;
    throw e;
  }
}

/** Wraps a Node fs error as a SandboxError one-liner with syscall, errno, code and path. */
export function cgError(stage: StageName, e: unknown, fallback: { syscall: string; path?: string }, what?: string): SandboxError {
  if (e instanceof SandboxError) return e;
  const ne = e as NodeJS.ErrnoException;
  const code = ne?.code ?? 'EIO';
  const errno = Math.abs(ne?.errno ?? (os.constants.errno as Record<string, number>)[code] ?? 5);
  const syscall = ne?.syscall ?? fallback.syscall;
  const p = ne?.path ?? fallback.path;
  const hint = HINTS[code] ? ` (${HINTS[code]})` : '';
  const msg = `${stage}: ${what ? what + ': ' : ''}${syscall}(${p ?? ''}) failed: ${code}${hint}`;
  return new SandboxError(stage, SyscallError.of({ syscall, errno, code, path: p, cause: e }), msg);
}

const HINTS: Record<string, string> = {
  EACCES: 'permission denied; the server must run as root or own a delegated cgroup',
  EPERM: 'operation not permitted; the server must run as root or own a delegated cgroup',
  ELOOP: 'refusing to follow a symlink in cgroupfs',
  EBUSY: 'cgroup still has processes or children',
  EINVAL: 'the kernel rejected the value',
  ENOENT: 'no such cgroup file; is the controller enabled here?',
  ENOSPC: 'cgroup limits of a parent (e.g. cgroup.max.descendants) reached',
  ESRCH: 'no such process',
  EOPNOTSUPP: 'operation not supported by this cgroup',
};

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
