// index.ts: the real Syscalls implementation, the only door from the engine to the kernel (through koffi).
import koffi from 'koffi';
import { chownSync, closeSync, fstatSync, statSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import type { PtyMaster, Syscalls, WaitResult } from '../server/engine/syscalls.ts';
import { SyscallError, check } from './errors.ts';
import * as libc from './libc.ts';
import { ptyReader } from './pty-reader.ts';
import { spawnBox } from './spawn.ts';

function sys(name: string, r: number | bigint, path?: string): number {
  return Number(check(name, r, path));
}

/**
 * Inode of the user namespace owning the namespace at `nsPath` (a /proc/<pid>/ns/<kind> link, or one under a
 * /proc/self/fd/<dirfd>), by ioctl_ns(2) NS_GET_USERNS; for a user namespace that is its parent. null when the
 * process is gone or the owner lies outside our own user namespace (EPERM).
 */
export function nsOwnerIno(nsPath: string): number | null {
  const fd = libc.open(nsPath, libc.O.RDONLY | libc.O.CLOEXEC, 0);
  if (fd < 0) return null;
  try {
    const owner = libc.ioctlNoArg(fd, libc.NS_GET_USERNS, null);
    if (owner < 0) return null;
    try {
      return fstatSync(owner).ino;
    } finally {
      closeSync(owner);
    }
  } finally {
    closeSync(fd);
  }
}

function idmappedBind(source: string, target: string, usernsPid: number): void {
  const nsPath = `/proc/${usernsPid}/ns/user`;
  const nsFd = sys('open', libc.open(nsPath, libc.O.RDONLY | libc.O.CLOEXEC, 0), nsPath);
  let treeFd = -1;
  try {
    treeFd = sys(
      'open_tree',
      libc.syscall(
        libc.SYS.open_tree,
        'int',
        libc.AT_FDCWD,
        'const char *',
        source,
        'unsigned int',
        libc.OPEN_TREE_CLONE | libc.OPEN_TREE_CLOEXEC,
      ),
      source,
    );
    // struct mount_attr { u64 attr_set, attr_clr, propagation, userns_fd } (mount_setattr(2)).
    const attr = new BigUint64Array([libc.MOUNT_ATTR_IDMAP, 0n, 0n, BigInt(nsFd)]);
    sys(
      'mount_setattr',
      libc.syscall(
        libc.SYS.mount_setattr,
        'int',
        treeFd,
        'const char *',
        '',
        'unsigned int',
        libc.AT_EMPTY_PATH,
        'uint64_t *',
        attr,
        'size_t',
        32,
      ),
      source,
    );
    sys(
      'move_mount',
      libc.syscall(
        libc.SYS.move_mount,
        'int',
        treeFd,
        'const char *',
        '',
        'int',
        libc.AT_FDCWD,
        'const char *',
        target,
        'unsigned int',
        libc.MOVE_MOUNT_F_EMPTY_PATH,
      ),
      target,
    );
  } finally {
    if (treeFd >= 0) libc.close(treeFd);
    libc.close(nsFd);
  }
}

function takePtyMaster(pid: number, targetFd: number): PtyMaster {
  const pidfd = sys('pidfd_open', libc.syscall(libc.SYS.pidfd_open, 'int', pid, 'unsigned int', 0));
  try {
    const fd = sys('pidfd_getfd', libc.syscall(libc.SYS.pidfd_getfd, 'int', pidfd, 'int', targetFd, 'unsigned int', 0));
    try {
      // O_NONBLOCK on our own open file description (pidfd_getfd dups it; the box's copy was closed after the
      // handover): a write the box does not read answers EAGAIN instead of parking the event loop in n_tty_write.
      const flags = sys('fcntl(F_GETFL)', libc.fcntl(fd, libc.F_GETFL, 0));
      sys('fcntl(F_SETFL)', libc.fcntl(fd, libc.F_SETFL, flags | libc.O.NONBLOCK));
    } catch (err) {
      libc.close(fd);
      throw err;
    }
    // Reads: in the pty reader worker (pty-reader.ts says why), as a tty.ReadStream there: libuv handles EAGAIN on
    // a non-blocking fd like on any socket (read when epoll says readable). The worker gets a dup of its own and
    // closes it when it likes (EIO, destroy); this thread's fd, for writes and TIOCSWINSZ, stays ours until the
    // stream is destroyed and the worker's copy closed, so its number is never reused while we may still use it.
    let readFd: number;
    try {
      readFd = sys('fcntl(F_DUPFD_CLOEXEC)', libc.fcntl(fd, libc.F_DUPFD_CLOEXEC, 0));
    } catch (err) {
      libc.close(fd);
      throw err;
    }
    const stream = ptyReader.read(readFd);
    stream.release = () => libc.close(fd);
    const tryWrite = (chunk: Buffer): number => {
      // After destroy() the fd number may already belong to something else: never write to it.
      if (stream.destroyed) throw new SyscallError('write', os.constants.errno.EBADF, 'pty master (closed)');
      try {
        return writeSync(fd, chunk);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') return 0;
        if (code === 'EINTR') return 0;
        throw err;
      }
    };
    return { fd, stream: stream as unknown as PtyMaster['stream'], tryWrite };
  } finally {
    libc.close(pidfd);
  }
}

/** Value of an extended attribute (not following a final symlink), or null when absent or unreadable. */
export function readXattr(path: string, name: string): string | null {
  const buf = Buffer.alloc(256);
  const n = Number(libc.lgetxattr(path, name, buf, buf.length));
  return n < 0 ? null : buf.subarray(0, n).toString('utf8');
}

export const realSyscalls: Syscalls = {
  spawnBox,
  mount(source, target, fstype, flags, data) {
    sys('mount', libc.mount(source, target, fstype, flags, data), target);
  },
  umount2(target, flags) {
    sys('umount2', libc.umount2(target, flags), target);
  },
  idmappedBind,
  takePtyMaster,
  setWinsize(fd, rows, cols) {
    sys('ioctl(TIOCSWINSZ)', libc.ioctlWinsize(fd, libc.TIOCSWINSZ, new Uint16Array([rows, cols, 0, 0])));
  },
  kill(pid, signal) {
    if (libc.kill(pid, signal) < 0) {
      const e = koffi.errno();
      if (e !== os.constants.errno.ESRCH) throw new SyscallError('kill', e, String(pid));
    }
  },
  waitpid(pid): WaitResult | null {
    const status: [number] = [0];
    const r = libc.waitpid(pid, status, libc.WNOHANG);
    if (r === 0) return null;
    if (r < 0) throw new SyscallError('waitpid', koffi.errno(), String(pid));
    const s = status[0];
    const signal = s & 0x7f;
    return signal === 0 ? { pid: r, exited: true, code: (s >> 8) & 0xff, signal: null } : { pid: r, exited: false, code: null, signal };
  },
  chown(path, uid, gid) {
    chownSync(path, uid, gid);
  },
  writeProcFile(pid, name, data) {
    writeFileSync(`/proc/${pid}/${name}`, data);
  },
  nsInode(pid, kind) {
    try {
      return statSync(`/proc/${pid}/ns/${kind}`).ino;
    } catch {
      return null;
    }
  },
  // The engine's defaultDeps supplies the compiled policy (native-bindings/seccomp.ts); bare calls get none.
  seccompFilter: () => null,
};
