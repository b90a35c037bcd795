// Test harness: installs a sock_filter file (or none) and probes syscalls, one forked child per probe.
// Usage: seccomp_harness FILTER|none. Prints "name ret errno" per probe, or "name signal N" when killed.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define X32_BIT 0x40000000L

static int devnull = -1;

static long p_keyctl(void) { return syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0); }
static long p_unshare_user(void) { return unshare(CLONE_NEWUSER); }
static long p_setns(void) { return setns(-1, 0); }
static long clone_raw(long flags) {
  long r = syscall(SYS_clone, flags, 0L, 0L, 0L, 0L);
  if (r == 0) _exit(0);
  if (r > 0) waitpid((pid_t)r, NULL, 0);
  return r;
}
static long p_clone_newns(void) { return clone_raw(CLONE_NEWNS | SIGCHLD); }
static long p_clone_newuser(void) { return clone_raw(CLONE_NEWUSER | SIGCHLD); }
static long p_clone_plain(void) { return clone_raw(SIGCHLD); }
static void *thread_fn(void *arg) { return arg; }
static long p_pthread(void) { /* glibc tries clone3 first and falls back to clone on ENOSYS */
  pthread_t t;
  int rc = pthread_create(&t, NULL, thread_fn, NULL);
  if (rc != 0) { errno = rc; return -1; }
  pthread_join(t, NULL);
  return 0;
}
static long p_clone3(void) { return syscall(SYS_clone3, NULL, 0L); }
static long p_fork(void) {
  pid_t p = fork();
  if (p == 0) _exit(7);
  if (p < 0) return -1;
  int st = 0;
  waitpid(p, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -2;
}
static long p_getpid(void) { return syscall(SYS_getpid); }
static char ch = 'x';
static long p_tiocsti(void) { return syscall(SYS_ioctl, devnull, 0x5412UL, &ch); }
static long p_tiocsti_hi(void) { return syscall(SYS_ioctl, devnull, 0x100005412UL, &ch); }
static long p_tioclinux(void) { return syscall(SYS_ioctl, devnull, 0x541CUL, &ch); }
static long p_tcgets(void) { char buf[64]; return syscall(SYS_ioctl, devnull, 0x5401UL, buf); }
static long p_bpf(void) { return syscall(SYS_bpf, 0 /* BPF_MAP_CREATE */, NULL, 0); }
static long p_io_uring(void) {
  char params[120];
  memset(params, 0, sizeof params);
  return syscall(SYS_io_uring_setup, 1, params);
}
static long p_mount(void) { return mount("none", "/nonexistent/boxlab-probe", "tmpfs", 0, NULL); }
static long p_ptrace(void) { return ptrace(PTRACE_TRACEME, 0, NULL, NULL); }
static long p_perf(void) { return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0); }
static long p_finit_module(void) { return syscall(SYS_finit_module, -1, "", 0); }
static long p_syslog(void) { return syscall(SYS_syslog, 10 /* SIZE_BUFFER */, NULL, 0); }
static long p_pers_query(void) { return syscall(SYS_personality, 0xffffffffUL); }
static long p_pers_linux32(void) { return syscall(SYS_personality, 0x0008UL); }
static long p_pers_norandom(void) { return syscall(SYS_personality, 0x0040000UL); }
static long p_pers_hi(void) { return syscall(SYS_personality, 0x100000000UL); }
static long p_chroot(void) { return chroot("/nonexistent/boxlab-probe"); }
static long p_x32(void) { return syscall(X32_BIT | SYS_getpid); }
static long p_int80(void) { /* i386 getpid (20) through the 32-bit entry point */
  long r;
  __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
  if (r < 0 && r > -4096) { errno = (int)-r; return -1; }
  return r;
}

static const struct { const char *name; long (*fn)(void); } probes[] = {
  {"keyctl", p_keyctl}, {"unshare_user", p_unshare_user}, {"setns", p_setns},
  {"clone_newns", p_clone_newns}, {"clone_newuser", p_clone_newuser}, {"clone_plain", p_clone_plain},
  {"pthread", p_pthread}, {"clone3", p_clone3}, {"fork", p_fork}, {"getpid", p_getpid},
  {"tiocsti", p_tiocsti}, {"tiocsti_hi", p_tiocsti_hi}, {"tioclinux", p_tioclinux}, {"tcgets", p_tcgets},
  {"bpf", p_bpf}, {"io_uring_setup", p_io_uring}, {"mount", p_mount}, {"ptrace", p_ptrace},
  {"perf_event_open", p_perf}, {"finit_module", p_finit_module}, {"syslog", p_syslog},
  {"personality_query", p_pers_query}, {"personality_linux32", p_pers_linux32},
  {"personality_norandom", p_pers_norandom}, {"personality_hi", p_pers_hi}, {"chroot", p_chroot},
  {"x32", p_x32}, {"int80", p_int80},
};

static int install(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) { perror("open filter"); return -1; }
  static struct sock_filter insns[4096];
  ssize_t n = read(fd, insns, sizeof insns);
  close(fd);
  if (n <= 0 || n % sizeof(struct sock_filter) != 0) { fprintf(stderr, "bad filter size %zd\n", n); return -1; }
  struct sock_fprog prog = {.len = (unsigned short)(n / sizeof(struct sock_filter)), .filter = insns};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) { perror("PR_SET_NO_NEW_PRIVS"); return -1; }
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) { perror("PR_SET_SECCOMP"); return -1; }
  printf("installed %u\n", prog.len);
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: %s FILTER|none\n", argv[0]); return 2; }
  devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0) { perror("/dev/null"); return 2; }
  if (strcmp(argv[1], "none") != 0 && install(argv[1]) != 0) return 3;
  fflush(stdout);
  for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 4; }
    if (pid == 0) {
      errno = 0;
      long r = probes[i].fn();
      printf("%s %ld %d\n", probes[i].name, r, r < 0 ? errno : 0);
      fflush(stdout);
      _exit(0);
    }
    int st = 0;
    if (waitpid(pid, &st, 0) < 0) { perror("waitpid"); return 4; }
    if (WIFSIGNALED(st)) printf("%s signal %d\n", probes[i].name, WTERMSIG(st));
    fflush(stdout);
  }
  return 0;
}
