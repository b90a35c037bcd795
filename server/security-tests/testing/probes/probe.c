/* probe.c: the in-box probe program of the security suite: one subcommand per question, one answer line each. */
#define _GNU_SOURCE
#include "probe.h"
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Open fds, read with readdir and without the directory's own fd (which ls would show as "3"). */
static int cmd_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) { report_errno("fds", "opendir", errno); return 1; }
  int self = dirfd(d);
  printf("fds");
  for (struct dirent *e; (e = readdir(d));) {
    if (e->d_name[0] == '.') continue;
    if (atoi(e->d_name) != self) printf(" %s", e->d_name);
  }
  closedir(d);
  char cwd[4096];
  ssize_t n = readlink("/proc/self/cwd", cwd, sizeof cwd - 1);
  cwd[n > 0 ? n : 0] = 0;
  printf("\ncwd %s\n", cwd);
  return 0;
}

static const char *try_read(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return strerrorname_np(errno);
  ssize_t n = read(fd, buf, cap - 1);
  close(fd);
  if (n < 0) return strerrorname_np(errno);
  buf[n] = 0;
  return "ok";
}

/* The classic chroot escape: chroot deeper without entering, walk ".." past the root, chroot there. With
 * pivot_root and the old root detached there is nothing above the box's root to walk to. */
static int cmd_escape(const char *marker, int npaths, char **paths) {
  mkdir("/tmp/.esc", 0700);
  if (chroot("/tmp/.esc") < 0) { report_errno("escape", "chroot", errno); return 1; }
  for (int i = 0; i < 256; i++) (void)!chdir("..");
  if (chroot(".") < 0) { report_errno("escape", "chroot2", errno); return 1; }
  char path[4096], buf[256];
  struct stat st;
  snprintf(path, sizeof path, "%s/public", marker);
  const char *pub = try_read(path, buf, sizeof buf);
  printf("escape marker %s\n", stat(marker, &st) == 0 ? "found" : "absent");
  printf("escape public %s %s\n", pub, strcmp(pub, "ok") ? "-" : buf);
  snprintf(path, sizeof path, "%s/secret", marker);
  printf("escape secret %s\n", try_read(path, buf, sizeof buf));
  snprintf(path, sizeof path, "%s/pwned", marker);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  printf("escape write %s\n", fd >= 0 ? "ok" : strerrorname_np(errno));
  if (fd >= 0) close(fd);
  /* Other host paths to try from out there, e.g. another box's root: listed, or the errno. */
  for (int i = 0; i < npaths; i++) {
    DIR *d = opendir(paths[i]);
    if (!d) { printf("escape list:%s %s\n", paths[i], strerrorname_np(errno)); continue; }
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) n += e->d_name[0] != '.';
    closedir(d);
    printf("escape list:%s ok %d\n", paths[i], n);
  }
  return 0;
}

/* Allocates and touches `mb` MiB, reporting every 64 MiB, so an OOM kill shows how far it got. */
static int cmd_alloc(long mb) {
  const size_t chunk = 1 << 20;
  for (long i = 0; i < mb; i++) {
    char *p = malloc(chunk);
    if (!p) { report_errno("alloc", "malloc", errno); return 1; }
    for (size_t o = 0; o < chunk; o += 4096) p[o] = (char)o | 1;
    if (i % 64 == 63) { printf("alloc %ld\n", i + 1); fflush(stdout); }
  }
  printf("alloc done %ld\n", mb);
  return 0;
}

/* n busy loops for `secs` seconds of wall clock. */
static int cmd_spin(int n, int secs) {
  time_t end = time(NULL) + secs;
  for (int i = 0; i < n; i++) {
    pid_t p = fork();
    if (p == 0) {
      volatile uint64_t x = 0;
      while (time(NULL) < end) for (int k = 0; k < 1000000; k++) x += (uint64_t)k;
      _exit(0);
    }
    if (p < 0) report_errno("spin", "fork", errno);
  }
  while (wait(NULL) > 0) {}
  printf("spin done\n");
  return 0;
}

/* Forks sleepers forever, retrying when the pids limit says EAGAIN: a box that keeps forking while it is torn down. */
static int cmd_forkloop(void) {
  printf("forkloop started\n");
  fflush(stdout);
  for (unsigned long n = 0;; n++) {
    pid_t p = fork();
    if (p == 0) { pause(); _exit(0); }
    if (p < 0) usleep(1000);
  }
}

static int cmd_whoami(const char *path) {
  char buf[256];
  printf("whoami ruid=%d euid=%d read=%s\n", getuid(), geteuid(), try_read(path, buf, sizeof buf));
  return 0;
}

/* As uid 1000 inside, runs the setuid-root copy of this program: with nosuid and no_new_privs it stays 1000. */
static int cmd_suid(const char *bin, const char *secret) {
  if (setresgid(1000, 1000, 1000) < 0 || setresuid(1000, 1000, 1000) < 0) { report_errno("suid", "setresuid", errno); return 1; }
  char *argv[] = {(char *)bin, "whoami", (char *)secret, NULL};
  char *envp[] = {NULL};
  execve(bin, argv, envp);
  report_errno("suid", "execve", errno);
  return 1;
}

static int cmd_stat(const char *path) {
  struct stat st;
  if (lstat(path, &st) < 0) { report_errno("stat", path, errno); return 0; }
  const char *t = S_ISCHR(st.st_mode) ? "chr" : S_ISREG(st.st_mode) ? "reg" : S_ISDIR(st.st_mode) ? "dir" : "other";
  printf("stat %s %s %u:%u size=%lld\n", path, t, major(st.st_rdev), minor(st.st_rdev), (long long)st.st_size);
  return 0;
}

static int cmd_read(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) { report_errno("read", path, errno); return 0; }
  char buf[65536];
  long total = 0;
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) != 0; total += n) {
    if (n < 0) { close(fd); report_errno("read", path, errno); return 0; }
  }
  close(fd);
  printf("read %s ok %ld\n", path, total);
  return 0;
}

/* open(O_WRONLY) without writing: enough to learn whether a write would be refused, with no side effect. */
static int cmd_write(const char *path, const char *data) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) { report_errno("write", path, errno); return 0; }
  if (data && write(fd, data, strlen(data)) < 0) { close(fd); report_errno("write", path, errno); return 0; }
  close(fd);
  printf("write %s ok\n", path);
  return 0;
}

/* Abstract unix sockets belong to the network namespace (unix(7)): the host's must be out of reach. */
static int cmd_unix(const char *name) {
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  size_t n = strlen(name);
  if (n + 1 > sizeof a.sun_path) return 2;
  memcpy(a.sun_path + 1, name, n);
  if (connect(s, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) < 0)
    report_errno("unix", name, errno);
  else
    printf("unix %s ok\n", name);
  close(s);
  return 0;
}

/* Empty files in `dir` until the kernel refuses one: an inode flood, which costs kernel memory and no data blocks. */
static int cmd_files(const char *dir) {
  mkdir(dir, 0755);
  char path[4096];
  for (long n = 0;; n++) {
    snprintf(path, sizeof path, "%s/%ld", dir, n);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
      printf("files %s err %s %ld\n", dir, strerrorname_np(errno), n);
      return 0;
    }
    close(fd);
  }
}

/* A sibling's memory through /proc/<pid>/mem: the child waits for its flag to change, the parent writes it at the
 * same address (fork copies the layout). ptrace_may_access lets the same uid in (PTRACE_MODE_ATTACH), so only the
 * open for writing can be refused. Then /proc/self/mem, and a read-only open of the sibling's file. */
static volatile int memflag;
static int cmd_memwrite(void) {
  pid_t kid = fork();
  if (kid == 0) {
    for (int i = 0; i < 300 && !memflag; i++) usleep(10000);
    _exit(memflag == 42 ? 0 : 1);
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/mem", kid);
  int fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) report_errno("memwrite", "open", errno);
  else {
    int v = 42;
    if (pwrite(fd, &v, sizeof v, (off_t)(uintptr_t)&memflag) != (ssize_t)sizeof v) report_errno("memwrite", "pwrite", errno);
    else printf("memwrite pwrite ok\n");
    close(fd);
  }
  int st = 0;
  waitpid(kid, &st, 0);
  printf("memwrite sibling %s\n", WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "changed" : "unchanged");
  fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
  printf("memwrite self %s\n", fd >= 0 ? "ok" : strerrorname_np(errno));
  if (fd >= 0) close(fd);
  fd = open("/proc/1/mem", O_RDONLY | O_CLOEXEC);
  printf("memwrite read-pid1 %s\n", fd >= 0 ? "ok" : strerrorname_np(errno));
  if (fd >= 0) close(fd);
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *c = argc > 1 ? argv[1] : "";
  if (!strcmp(c, "sys")) return cmd_sys(argc - 2, argv + 2);
  if (!strcmp(c, "fds")) return cmd_fds();
  if (!strcmp(c, "escape") && argc >= 3) return cmd_escape(argv[2], argc - 3, argv + 3);
  if (!strcmp(c, "alloc") && argc == 3) return cmd_alloc(atol(argv[2]));
  if (!strcmp(c, "spin") && argc == 4) return cmd_spin(atoi(argv[2]), atoi(argv[3]));
  if (!strcmp(c, "forkloop")) return cmd_forkloop();
  if (!strcmp(c, "whoami") && argc == 3) return cmd_whoami(argv[2]);
  if (!strcmp(c, "suid") && argc == 4) return cmd_suid(argv[2], argv[3]);
  if (!strcmp(c, "stat") && argc == 3) return cmd_stat(argv[2]);
  if (!strcmp(c, "read") && argc == 3) return cmd_read(argv[2]);
  if (!strcmp(c, "write") && (argc == 3 || argc == 4)) return cmd_write(argv[2], argc == 4 ? argv[3] : NULL);
  if (!strcmp(c, "unix") && argc == 3) return cmd_unix(argv[2]);
  if (!strcmp(c, "memwrite")) return cmd_memwrite();
  if (!strcmp(c, "files") && argc == 3) return cmd_files(argv[2]);
  fprintf(stderr, "usage: probe sys [NAME...] | fds | escape DIR [PATH...] | alloc MB | spin N SECS | forkloop | whoami PATH |\n"
                  "       suid BIN SECRET | stat PATH | read PATH | write PATH [DATA] | unix NAME | memwrite | files DIR\n");
  return 2;
}
