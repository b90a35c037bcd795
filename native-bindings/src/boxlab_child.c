/* boxlab_child.c: the namespaced parent and the inner child of the double fork (the boxlab-nsexec program).
 *
 * No JavaScript may run in a process forked from Node (it segfaults), and unshare(CLONE_NEWUSER) needs a
 * single-threaded caller (unshare(2): EINVAL), so this is C, like runc's nsexec: a small program that Node starts
 * with posix_spawn (vfork-fast, and no copy of Node's memory to pin), which unshares and forks PID 1.
 * Every step reports a fixed-size struct bx_event on the status pipe; the outer parent (Node) does the rest. */
#define _GNU_SOURCE
#include "child_internal.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>


/* ---- inner child: PID 1 of the box ------------------------------------------------------------------- */


static __attribute__((noreturn)) void container_init_process(struct ctx *c) {
  const struct bx_params *p = c->p;
  c->role = BX_ROLE_INNER_CHILD;
  /* If the namespaced parent dies, PID 1 dies and takes the whole PID namespace with it (pid_namespaces(7)). */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  setsid();

  setup_mounts(c);
  setup_stdio(c);

  begin(c, BX_PIVOT_ROOT);
  maybe_inject(c);
  CHECK(c, chdir(p->root), "chdir", p->root);
  if (p->disable & BX_NO_PIVOT) {
    /* Test-only: a plain chroot, to prove the escape probe fails only because of pivot_root. */
    CHECK(c, chroot("."), "chroot", p->root);
  } else {
    /* pivot_root(".", ".") then detach the old root: no path back to the host (pivot_root(2) NOTES, as runc). */
    CHECK(c, syscall(SYS_pivot_root, ".", "."), "pivot_root", p->root);
    CHECK(c, umount2(".", MNT_DETACH), "umount2", "old root");
  }
  CHECK(c, chdir("/"), "chdir", "/");
  ok(c, 0);

  begin(c, BX_CHDIR);
  maybe_inject(c);
  CHECK(c, chdir(p->workdir), "chdir", p->workdir);
  ok(c, 0);

  begin(c, BX_SECCOMP);
  maybe_inject(c);
  if (!(p->disable & BX_NO_SECCOMP) && c->prog.len > 0)
    CHECK(c, prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &c->prog, 0, 0), "prctl(PR_SET_SECCOMP)", NULL);
  ok(c, (int32_t)c->prog.len);

  begin(c, BX_DROP_PRIVILEGES);
  maybe_inject(c);
  drop_privileges(c);
  ok(c, 0);

  begin(c, BX_EXEC);
  maybe_inject(c);
  reset_signals();
  ok(c, 0);
  execve(c->argv[0], c->argv, c->envp);
  begin(c, BX_EXEC);
  fail(c, "execve", c->argv[0], errno);
}

/* ---- namespaced parent ------------------------------------------------------------------------------ */

/* Lab mode: /proc/sys/user/max_*_namespaces of the box's user namespace (the table shown is the writer's own user
 * namespace's, kernel/ucount.c set_lookup). Creating any namespace below counts against every ancestor's limit
 * (inc_ucount walks up the chain), and the box cannot raise these: writing needs CAP_SYS_RESOURCE in this user
 * namespace (set_permissions), which PID 1 drops from its bounding set. Written here, before the box's own six
 * namespaces exist: they count too. */
static void cap_nested_namespaces(struct ctx *c) {
  static const char *const kinds[] = {"user", "pid", "mnt", "uts", "ipc", "net", "cgroup", "time"};
  char path[96], val[16];
  int n = snprintf(val, sizeof val, "%d\n", BX_LAB_NS_MAX);
  for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
    snprintf(path, sizeof path, "/proc/sys/user/max_%s_namespaces", kinds[i]);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    /* max_time_namespaces exists since Linux 5.6; an older kernel has no time namespaces to cap. */
    if (fd < 0 && errno == ENOENT) continue;
    CHECK(c, fd, "open", path);
    if (write(fd, val, (size_t)n) != n) fail(c, "write", path, errno ? errno : EIO);
    close(fd);
  }
}

static void lo_up(struct ctx *c) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  CHECK(c, s, "socket", "AF_INET");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  copy_str(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
  CHECK(c, ioctl(s, SIOCGIFFLAGS, &ifr), "ioctl(SIOCGIFFLAGS)", "lo");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  CHECK(c, ioctl(s, SIOCSIFFLAGS, &ifr), "ioctl(SIOCSIFFLAGS)", "lo");
  close(s);
}

/* After PID 1 exits: unmount /proc and /dev inside the namespace, as the seed orders it. pivot_root moved this
 * process's root too (pivot_root(2)), so the paths are relative to the new root when the child got that far. */
static void namespaced_cleanup(struct ctx *c) {
  char buf[PATH_MAX_BX];
  struct stat st;
  const char *prefix = stat(c->p->root, &st) == 0 ? c->p->root : "";
  begin(c, BX_UMOUNT_PROC);
  if (umount2(in_root(buf, prefix, "/proc"), MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
    fail(c, "umount2", buf, errno);
  ok(c, 0);
  begin(c, BX_UMOUNT_DEV);
  if (umount2(in_root(buf, prefix, "/dev"), MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
    fail(c, "umount2", buf, errno);
  ok(c, 0);
}

__attribute__((noreturn)) void container_intermediate_process(struct ctx *c) {
  const struct bx_params *p = c->p;
  c->role = BX_ROLE_NAMESPACED_PARENT;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  /* Not dumpable: nothing in the box may ptrace or open /proc/<pid>/ of this host-side process (CVE-2016-9962). */
  prctl(PR_SET_DUMPABLE, 0);
  reset_signals();
  int keep[] = {p->status_fd, p->control_fd, p->exec_fd, p->stdio_fds[0], p->stdio_fds[1], p->stdio_fds[2]};
  close_other_fds(keep, 6);

  begin(c, BX_UNSHARE_USER);
  maybe_inject(c);
  /* Drop the host's supplementary groups while still allowed: after unshare they could never be dropped
   * (setgroups is denied in the box) and would show up as unmapped groups. */
  CHECK(c, setgroups(0, NULL), "setgroups", NULL);
  CHECK(c, unshare(CLONE_NEWUSER), "unshare(CLONE_NEWUSER)", NULL);
  ok(c, 0);

  /* The outer parent writes uid_map/gid_map, mounts the overlay on an idmapped lower and joins the cgroups. */
  read_control(c);

  begin(c, BX_UNSHARE_NS);
  maybe_inject(c);
  CHECK(c, setresgid(0, 0, 0), "setresgid", NULL);
  CHECK(c, setresuid(0, 0, 0), "setresuid", NULL);
  if (p->disable & BX_LAB) cap_nested_namespaces(c);
  CHECK(c, unshare((int)p->ns_flags), "unshare", "mnt|uts|ipc|net|cgroup|pid");
  ok(c, 0);

  begin(c, BX_HOSTNAME);
  maybe_inject(c);
  CHECK(c, sethostname(p->hostname, strlen(p->hostname)), "sethostname", p->hostname);
  ok(c, 0);

  begin(c, BX_NET_LO_UP);
  maybe_inject(c);
  lo_up(c);
  ok(c, 0);

  begin(c, BX_FORK2);
  maybe_inject(c);
  /* PID 1 waits at this gate until fork2 is reported, so its first event can never overtake ours on the
   * shared status pipe (the outer parent needs fork2's pid to attribute the child's events). */
  int gate[2];
  CHECK(c, pipe2(gate, O_CLOEXEC), "pipe2", "fork2 gate");
  pid_t child = fork();
  if (child < 0) fail(c, "fork", NULL, errno);
  if (child == 0) {
    char b;
    close(gate[1]);
    while (read(gate[0], &b, 1) < 0 && errno == EINTR) {}
    close(gate[0]);
    container_init_process(c);
  }
  close(gate[0]);
  /* Only PID 1 may hold the exec pipe: its EOF then means exactly "execve succeeded" (or PID 1 died). */
  close(p->exec_fd);
  ok(c, child);
  close(gate[1]);

  int status = 0;
  pid_t w;
  do w = waitpid(child, &status, 0);
  while (w < 0 && errno == EINTR);
  begin(c, BX_CHILD_EXIT);
  if (w < 0) fail(c, "waitpid", NULL, errno);
  ok(c, status);
  namespaced_cleanup(c);
  _exit(0);
}
