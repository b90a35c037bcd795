/* probe_sys.c: syscalls a student might try from inside the box, each called in a forked child so a kill is seen. */
#define _GNU_SOURCE
#include "probe.h"
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#define X32_BIT 0x40000000L

static long clone_flags(long flags) {
  long r = syscall(SYS_clone, flags | SIGCHLD, 0L, 0L, 0L, 0L);
  if (r == 0) _exit(0);
  if (r > 0) waitpid((pid_t)r, NULL, 0);
  return r;
}
static long p_unshare_user(void) { return unshare(CLONE_NEWUSER); }
static long p_unshare_net(void) { return unshare(CLONE_NEWNET); }
static long p_clone_newuser(void) { return clone_flags(CLONE_NEWUSER); }
static long p_clone_newns(void) { return clone_flags(CLONE_NEWNS); }
/* Reachable clone3 with a NULL struct fails EINVAL/EFAULT; the filter answers ENOSYS so libc falls back to clone. */
static long p_clone3(void) { return syscall(SYS_clone3, NULL, 0L); }
/* setns(-1): EBADF when the kernel sees it, EPERM from the filter. */
static long p_setns(void) { return setns(-1, 0); }
static long p_mount(void) { return mount("none", "/mnt", "tmpfs", 0, "size=4k"); }
static long p_fsopen(void) { return syscall(SYS_fsopen, "tmpfs", 0); }
/* Unmounting a masked /proc path would reveal what it hides (runc maskedPaths). */
static long p_umount(void) { return umount2("/proc/keys", MNT_DETACH); }
static long p_mknod_chr(void) {
  unlink("/tmp/.probe-dev");
  long r = mknod("/tmp/.probe-dev", S_IFCHR | 0666, makedev(1, 3));
  int e = errno;
  unlink("/tmp/.probe-dev");
  errno = e;
  return r;
}
static long p_mknod_fifo(void) {
  unlink("/tmp/.probe-fifo");
  long r = mknod("/tmp/.probe-fifo", S_IFIFO | 0600, 0);
  int e = errno;
  unlink("/tmp/.probe-fifo");
  errno = e;
  return r;
}
static long p_keyctl(void) { return syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0); }
static long p_add_key(void) { return syscall(SYS_add_key, "user", "boxlab-probe", "x", 1L, -2 /* process */); }
static long p_request_key(void) { return syscall(SYS_request_key, "user", "boxlab-probe", NULL, 0L); }
/* An unknown command: EINVAL from a reachable bpf(2), EPERM from the filter. */
static long p_bpf(void) { return syscall(SYS_bpf, 999, NULL, 0); }
static long p_perf(void) { return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0); }
static long p_userfaultfd(void) { return syscall(SYS_userfaultfd, UFFD_USER_MODE_ONLY | O_CLOEXEC); }
static long p_io_uring(void) {
  char params[120];
  memset(params, 0, sizeof params);
  return syscall(SYS_io_uring_setup, 1, params);
}
/* Attach to our own child: allowed to an unfiltered same-uid parent, so only the filter refuses it. */
static long p_ptrace(void) {
  pid_t child = fork();
  if (child == 0) { pause(); _exit(0); }
  if (child < 0) return -1;
  long r = ptrace(PTRACE_ATTACH, child, NULL, NULL);
  int e = errno;
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  errno = e;
  return r;
}
static long p_io_uring_enter(void) { return syscall(SYS_io_uring_enter, -1, 0, 0, 0, NULL, 0); }
static long p_io_uring_register(void) { return syscall(SYS_io_uring_register, -1, 0, NULL, 0); }
static long p_move_mount(void) { return syscall(SYS_move_mount, -1, "", -1, "", 0); }
static long p_open_tree(void) { return syscall(SYS_open_tree, -1, "", 0); }
static long p_fsmount(void) { return syscall(SYS_fsmount, -1, 0, 0); }
static long p_fsconfig(void) { return syscall(SYS_fsconfig, -1, 0, NULL, NULL, 0); }
static long p_fspick(void) { return syscall(SYS_fspick, -1, "", 0); }
static long p_mount_setattr(void) { return syscall(SYS_mount_setattr, -1, "", 0, NULL, 0); }
/* cwd (/root) is no mount point: a reachable pivot_root says EINVAL and changes nothing. */
static long p_pivot_root(void) { return syscall(SYS_pivot_root, ".", "."); }
static long p_kexec_file(void) { return syscall(SYS_kexec_file_load, -1, -1, 0UL, NULL, 0UL); }
static long p_init_module(void) { return syscall(SYS_init_module, NULL, 0UL, ""); }
static long p_delete_module(void) { return syscall(SYS_delete_module, "boxlab_probe_none", 0); }
static long p_process_vm_readv(void) { return syscall(SYS_process_vm_readv, 1, NULL, 0UL, NULL, 0UL, 0UL); }
static long p_kexec(void) { return syscall(SYS_kexec_load, 0L, 0L, NULL, 0L); }
static long p_finit_module(void) { return syscall(SYS_finit_module, -1, "", 0); }
static long p_open_by_handle(void) { return syscall(SYS_open_by_handle_at, AT_FDCWD, NULL, O_RDONLY); }
static long p_personality(void) { return syscall(SYS_personality, 0x0040000UL /* ADDR_NO_RANDOMIZE */); }
static long p_setgroups(void) { return syscall(SYS_setgroups, 0, NULL); }
static long p_syslog(void) { return syscall(SYS_syslog, 10 /* SIZE_BUFFER */, NULL, 0); }
static char sti = '#';
/* Pushes one byte into the box's own terminal (fd 0 must be the pty); the high bits variant is CVE-2019-10063. */
static long p_tiocsti(void) { return syscall(SYS_ioctl, 0, 0x5412UL, &sti); }
static long p_tiocsti_hi(void) { return syscall(SYS_ioctl, 0, 0x100005412UL, &sti); }
static long p_chroot(void) { return chroot("/tmp"); }
static long p_x32(void) { return syscall(X32_BIT | SYS_getpid); }
static long p_int80(void) { /* i386 getpid (20) through the 32-bit entry point: another syscall table */
  long r;
  __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
  if (r < 0 && r > -4096) { errno = (int)-r; return -1; }
  return r;
}

static const struct { const char *name; long (*fn)(void); } PROBES[] = {
  {"unshare_user", p_unshare_user}, {"unshare_net", p_unshare_net}, {"clone_newuser", p_clone_newuser},
  {"clone_newns", p_clone_newns}, {"clone3", p_clone3}, {"setns", p_setns}, {"mount", p_mount},
  {"fsopen", p_fsopen}, {"umount", p_umount}, {"mknod_chr", p_mknod_chr}, {"mknod_fifo", p_mknod_fifo},
  {"keyctl", p_keyctl}, {"add_key", p_add_key}, {"request_key", p_request_key}, {"bpf", p_bpf},
  {"perf_event_open", p_perf}, {"userfaultfd", p_userfaultfd}, {"io_uring_setup", p_io_uring},
  {"io_uring_enter", p_io_uring_enter}, {"io_uring_register", p_io_uring_register}, {"move_mount", p_move_mount},
  {"open_tree", p_open_tree}, {"fsmount", p_fsmount}, {"fsconfig", p_fsconfig}, {"fspick", p_fspick},
  {"mount_setattr", p_mount_setattr}, {"pivot_root", p_pivot_root}, {"kexec_file_load", p_kexec_file},
  {"init_module", p_init_module}, {"delete_module", p_delete_module}, {"process_vm_readv", p_process_vm_readv},
  {"ptrace", p_ptrace}, {"kexec_load", p_kexec}, {"finit_module", p_finit_module},
  {"open_by_handle_at", p_open_by_handle}, {"personality", p_personality}, {"setgroups", p_setgroups},
  {"syslog", p_syslog}, {"tiocsti", p_tiocsti}, {"tiocsti_hi", p_tiocsti_hi}, {"chroot", p_chroot},
  {"x32", p_x32}, {"int80", p_int80},
};

/* Prints "sys NAME ok RET", "sys NAME err ERRNO" or "sys NAME signal N" for each named probe (or all). */
int cmd_sys(int argc, char **argv) {
  int all = argc == 0, found = 0;
  for (size_t i = 0; i < sizeof PROBES / sizeof *PROBES; i++) {
    int want = all;
    for (int a = 0; a < argc; a++) want |= !strcmp(argv[a], PROBES[i].name);
    if (!want) continue;
    found++;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) { report_errno("sys", PROBES[i].name, errno); continue; }
    if (pid == 0) {
      errno = 0;
      long r = PROBES[i].fn();
      if (r < 0) report_errno("sys", PROBES[i].name, errno);
      else printf("sys %s ok %ld\n", PROBES[i].name, r);
      fflush(stdout);
      _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    if (WIFSIGNALED(st)) printf("sys %s signal %d\n", PROBES[i].name, WTERMSIG(st));
  }
  fflush(stdout);
  return found ? 0 : 2;
}
