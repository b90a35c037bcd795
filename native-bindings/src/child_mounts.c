/* child_mounts.c: the inner child's mounts (propagation cut, /proc, minimal /dev, masked paths) and its terminal. */
#include "child_internal.h"
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#define NOSUID_NODEV_NOEXEC (MS_NOSUID | MS_NODEV | MS_NOEXEC)

/* Refuses a mount target that is a symlink: the image is trusted but a target must never lead outside the root
 * (CVE-2021-30465 family: symlink races on mount targets). mkdir is a no-op when the dir exists. */
static void ensure_dir(struct ctx *c, const char *path, mode_t mode) {
  struct stat st;
  if (lstat(path, &st) == 0) {
    if (!S_ISDIR(st.st_mode)) fail(c, "lstat", path, ENOTDIR);
    return;
  }
  CHECK(c, mkdir(path, mode), "mkdir", path);
}

static void ensure_file(struct ctx *c, const char *path) {
  int fd = open(path, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0666);
  CHECK(c, fd, "open", path);
  close(fd);
}

/* Device nodes cannot be created in a user namespace (mknod needs CAP_MKNOD in the initial one), so the few
 * harmless ones are bind-mounted from the host, as rootless runc does. /dev/null is checked to be char 1:3. */
static void bind_device(struct ctx *c, const char *root, const char *name) {
  char src[PATH_MAX_BX], dst[PATH_MAX_BX];
  in_root(src, "/dev/", name);
  in_root(dst, root, "/dev/");
  in_root(dst, dst, name);
  struct stat st;
  CHECK(c, stat(src, &st), "stat", src);
  if (!S_ISCHR(st.st_mode)) fail(c, "stat", src, ENODEV);
  if (!strcmp(name, "null") && st.st_rdev != makedev(1, 3)) fail(c, "stat", "/dev/null is not char 1:3", ENODEV);
  ensure_file(c, dst);
  CHECK(c, mount(src, dst, NULL, MS_BIND, NULL), "mount(bind)", dst);
}

static void mount_dev(struct ctx *c) {
  const char *root = c->p->root;
  char d[PATH_MAX_BX], t[PATH_MAX_BX];
  ensure_dir(c, in_root(d, root, "/dev"), 0755);
  CHECK(c, mount("tmpfs", d, "tmpfs", MS_NOSUID | MS_NOEXEC, c->p->dev_opts), "mount(tmpfs)", d);
  static const char *const devs[] = {"null", "zero", "full", "random", "urandom", "tty"};
  for (size_t i = 0; i < sizeof devs / sizeof *devs; i++) bind_device(c, root, devs[i]);
  /* A private devpts instance: the box sees only its own ptys, and its pty comes from here (devpts docs). */
  ensure_dir(c, in_root(d, root, "/dev/pts"), 0755);
  CHECK(c, mount("devpts", d, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5"),
        "mount(devpts)", d);
  CHECK(c, symlink("pts/ptmx", in_root(d, root, "/dev/ptmx")), "symlink", d);
  ensure_dir(c, in_root(d, root, "/dev/shm"), 01777);
  CHECK(c, mount("shm", d, "tmpfs", NOSUID_NODEV_NOEXEC, c->p->shm_opts), "mount(tmpfs)", d);
  static const char *const links[][2] = {
      {"/proc/self/fd", "/dev/fd"},
      {"/proc/self/fd/0", "/dev/stdin"},
      {"/proc/self/fd/1", "/dev/stdout"},
      {"/proc/self/fd/2", "/dev/stderr"},
  };
  for (size_t i = 0; i < sizeof links / sizeof *links; i++)
    CHECK(c, symlink(links[i][0], in_root(t, root, links[i][1])), "symlink", t);
}

/* runc's defaults: paths of /proc that leak host information or let root inside change the host kernel. */
static const char *const MASKED[] = {
    "/proc/kcore",       "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
    "/proc/sched_debug", "/proc/acpi", "/proc/scsi",          "/proc/asound",     "/sys/firmware",
};
static const char *const READONLY[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

static void mask_paths(struct ctx *c) {
  const char *root = c->p->root;
  char path[PATH_MAX_BX], devnull[PATH_MAX_BX];
  struct stat st;
  in_root(devnull, root, "/dev/null");
  for (size_t i = 0; i < sizeof MASKED / sizeof *MASKED; i++) {
    if (lstat(in_root(path, root, MASKED[i]), &st) < 0) continue;
    if (S_ISDIR(st.st_mode))
      CHECK(c, mount("tmpfs", path, "tmpfs", MS_RDONLY | NOSUID_NODEV_NOEXEC, "size=0,nr_inodes=1"), "mount", path);
    else
      CHECK(c, mount(devnull, path, NULL, MS_BIND, NULL), "mount(bind)", path);
  }
  for (size_t i = 0; i < sizeof READONLY / sizeof *READONLY; i++) {
    if (lstat(in_root(path, root, READONLY[i]), &st) < 0) continue;
    /* /proc/sys/kernel/core_pattern would otherwise run a host program as root on a crash. */
    CHECK(c, mount(path, path, NULL, MS_BIND | MS_REC, NULL), "mount(bind)", path);
    CHECK(c, mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | NOSUID_NODEV_NOEXEC, NULL), "mount(remount,ro)",
          path);
  }
}

void setup_mounts(struct ctx *c) {
  const char *root = c->p->root;
  char d[PATH_MAX_BX];

  begin(c, BX_MOUNT_PRIVATE);
  maybe_inject(c);
  /* Nothing mounted here may propagate back to the host, nor later host mounts appear here (mount_namespaces(7)). */
  CHECK(c, mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL), "mount(MS_SLAVE|MS_REC)", "/");
  /* The overlay was copied in from a more privileged mount namespace, so it is locked and pivot_root refuses a
   * locked new root (EINVAL, fs/namespace.c); a bind of it onto itself made here is ours (runc does the same). */
  CHECK(c, mount(root, root, NULL, MS_BIND | MS_REC, NULL), "mount(bind)", root);
  ok(c, 0);

  begin(c, BX_MOUNT_PROC);
  maybe_inject(c);
  /* Mounted before the old root goes away: the kernel allows proc in a user namespace only while a fully
   * visible proc exists in the mount namespace (mount_too_revealing in fs/namespace.c). */
  ensure_dir(c, in_root(d, root, "/proc"), 0555);
  /* Read-only: opening any /proc file for writing then fails with EROFS (mnt_want_write in do_dentry_open), so
   * /proc/<pid>/mem of a sibling (which ptrace_may_access allows to the same uid, whatever seccomp says about
   * ptrace) and /proc/self/mem (the FOLL_FORCE path of Dirty COW, CVE-2016-5195) cannot be written. */
  unsigned long ro = (c->p->disable & BX_NO_PROC_RO) ? 0 : MS_RDONLY;
  /* Lab mode: no mount flags at all. A proc copied into a nested user namespace gets its flags locked, and a new
   * proc there must then carry each of them (mnt_already_visible), which busybox's plain `mount -t proc` does not.
   * proc is noexec and nodev by its superblock anyway (SB_I_NOEXEC | SB_I_NODEV in fs/proc/root.c). */
  unsigned long flags = (c->p->disable & BX_LAB) ? 0 : NOSUID_NODEV_NOEXEC | ro;
  CHECK(c, mount("proc", d, "proc", flags, NULL), "mount(proc)", d);
  ensure_dir(c, in_root(d, root, "/sys"), 0555);
  if (mount("sysfs", d, "sysfs", MS_RDONLY | NOSUID_NODEV_NOEXEC, NULL) < 0)
    CHECK(c, mount("tmpfs", d, "tmpfs", MS_RDONLY | NOSUID_NODEV_NOEXEC, "size=0"), "mount(tmpfs)", d);
  ok(c, 0);

  begin(c, BX_MOUNT_DEV);
  maybe_inject(c);
  mount_dev(c);
  ok(c, 0);

  begin(c, BX_MASK_PATHS);
  maybe_inject(c);
  if (!(c->p->disable & BX_NO_MASK)) mask_paths(c);
  ok(c, 0);
}

/* The pty is made in the box's own devpts and its master handed to the outer parent (which takes it with
 * pidfd_getfd(2) and answers 'P'), as runc's console socket does: the box never sees a host pty. */
void setup_stdio(struct ctx *c) {
  const struct bx_params *p = c->p;
  begin(c, BX_PTY_OPEN);
  maybe_inject(c);
  if (!p->use_pty) {
    for (int i = 0; i < 3; i++) CHECK(c, dup2(p->stdio_fds[i], i), "dup2", "stdio");
    ok(c, -1);
    return;
  }
  char path[PATH_MAX_BX];
  int master = open(in_root(path, p->root, "/dev/pts/ptmx"), O_RDWR | O_NOCTTY | O_CLOEXEC);
  CHECK(c, master, "open", path);
  int unlock = 0;
  CHECK(c, ioctl(master, TIOCSPTLCK, &unlock), "ioctl(TIOCSPTLCK)", path);
  struct winsize ws = {.ws_row = (unsigned short)p->rows, .ws_col = (unsigned short)p->cols};
  CHECK(c, ioctl(master, TIOCSWINSZ, &ws), "ioctl(TIOCSWINSZ)", path);
  /* TIOCGPTPEER opens the peer without a path lookup, so nothing can swap the slave under us (ioctl_tty(2)). */
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  CHECK(c, slave, "ioctl(TIOCGPTPEER)", path);
  CHECK(c, ioctl(slave, TIOCSCTTY, 0), "ioctl(TIOCSCTTY)", NULL);
  ok(c, master);
  if (read_control(c) != 'P') fail(c, "read", "control pipe: expected pty handover", EPROTO);
  close(master);
  for (int i = 0; i < 3; i++) CHECK(c, dup2(slave, i), "dup2", "pty");
  if (slave > 2) close(slave);
}
