// libc.ts: koffi declarations of the libc calls the outer parent makes itself (mount, pidfd, ioctl, waitpid, ...).
import koffi from 'koffi';

const libc = koffi.load('libc.so.6');

export const SYS = {
  pidfd_open: 434,
  pidfd_getfd: 438,
  open_tree: 428,
  move_mount: 429,
  mount_setattr: 442,
} as const;

export const mount = libc.func(
  'int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)',
);
export const umount2 = libc.func('int umount2(const char *target, int flags)');
export const pipe2 = libc.func('int pipe2(_Out_ int *fds, int flags)');
export const close = libc.func('int close(int fd)');
export const kill = libc.func('int kill(int pid, int sig)');
export const waitpid = libc.func('int waitpid(int pid, _Out_ int *status, int options)');
export const open = libc.func('int open(const char *path, int flags, int mode)');
/** fcntl(2) with an int argument (F_GETFL/F_SETFL); the x86-64 and arm64 ABIs pass it like the variadic int. */
export const fcntl = libc.func('int fcntl(int fd, int cmd, int arg)');
export const F_GETFL = 3;
export const F_SETFL = 4;
/** fcntl(2): the lowest free fd >= arg for the same open file description, close-on-exec. */
export const F_DUPFD_CLOEXEC = 1030;
/** lgetxattr(2): systemd marks delegated cgroups with user.delegate / trusted.delegate = "1" (v251+). */
export const lgetxattr = libc.func('long lgetxattr(const char *path, const char *name, _Out_ uint8_t *value, size_t size)');
export const ioctlWinsize = libc.func('int ioctl(int fd, unsigned long req, const uint16_t *ws)');
/** ioctl(2) with no argument, for the ioctl_ns(2) requests that return a new fd. */
export const ioctlNoArg = libc.func('ioctl', 'int', ['int', 'unsigned long', 'void *']);
/** _IO(0xb7, 0x1), linux/nsfs.h: a fd of the user namespace that owns the namespace (for a user ns: its parent). */
export const NS_GET_USERNS = 0xb701;
/** glibc's syscall(2) is variadic: each call passes the type of every argument (koffi variadic calls). */
export const syscall = libc.func('long syscall(long nr, ...)');
export const O = { RDONLY: 0, CLOEXEC: 0o2000000, NONBLOCK: 0o4000 } as const;
export const TIOCSWINSZ = 0x5414;
export const WNOHANG = 1;
export const AT_FDCWD = -100;
export const AT_EMPTY_PATH = 0x1000;
export const AT_RECURSIVE = 0x8000;
export const OPEN_TREE_CLONE = 1;
export const OPEN_TREE_CLOEXEC = O.CLOEXEC;
export const MOVE_MOUNT_F_EMPTY_PATH = 0x4;
export const MOUNT_ATTR_IDMAP = 0x00100000n;
