/* spawn.c: bx_spawn, the library side called by Node through koffi: packs the request and starts boxlab-nsexec,
 * with posix_spawn, or on cgroup v2 with clone3(CLONE_INTO_CGROUP) straight into the box's cgroup (clone3.c).
 *
 * posix_spawn uses clone(CLONE_VM|CLONE_VFORK) in glibc: no copy of Node's page tables (a fork of Node costs
 * ~2 ms and pins ~10 MiB of copy-on-write pages per box, measured in bench/), and no Node code in the child. */
#define _GNU_SOURCE
#include "boxlab_child.h"
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char helper_path[PATH_MAX];

/* boxlab-nsexec lives beside this library (native-bindings/build/). */
static const char *helper(void) {
  if (helper_path[0]) return helper_path;
  Dl_info info;
  if (!dladdr((void *)&bx_spawn, &info) || !info.dli_fname) return NULL;
  const char *slash = strrchr(info.dli_fname, '/');
  size_t dir = slash ? (size_t)(slash - info.dli_fname) : 0;
  if (dir + sizeof "/boxlab-nsexec" > sizeof helper_path) return NULL;
  memcpy(helper_path, info.dli_fname, dir);
  memcpy(helper_path + dir, "/boxlab-nsexec", sizeof "/boxlab-nsexec");
  return helper_path;
}

static size_t list_len(const char *s, int n) {
  size_t len = 0;
  for (int i = 0; i < n; i++) len += strlen(s + len) + 1;
  return len;
}

static char *put(char *at, const char *s) {
  size_t n = strlen(s ? s : "") + 1;
  memcpy(at, s ? s : "", n);
  return at + n;
}

/* Builds the blob in one allocation; returns its length or 0 when it would exceed BX_BLOB_MAX. */
static size_t pack(const struct bx_params *p, const uint8_t *filter, int32_t flen, char **out) {
  size_t argv_len = list_len(p->argv, p->argc), env_len = list_len(p->envp, p->envc);
  const char *strs[] = {p->root, p->hostname, p->workdir, p->dev_opts, p->shm_opts};
  size_t total = sizeof(struct bx_blob_header) + argv_len + env_len + (size_t)flen * 8;
  for (size_t i = 0; i < 5; i++) total += strlen(strs[i] ? strs[i] : "") + 1;
  if (total > BX_BLOB_MAX) return 0;
  char *blob = calloc(1, total);
  if (!blob) return 0;
  struct bx_blob_header h = {
      .magic = BX_BLOB_MAGIC,
      .total_len = (uint32_t)total,
      .argc = p->argc,
      .envc = p->envc,
      .use_pty = p->use_pty,
      .has_stdio = p->stdio_fds[0] >= 0,
      .fail_at = p->fail_at,
      .rows = p->rows,
      .cols = p->cols,
      .ns_flags = p->ns_flags,
      .disable = p->disable,
      .filter_len = (uint32_t)flen,
      .cap_keep = p->cap_keep,
      .rlim_nofile = p->rlim_nofile,
      .rlim_fsize = p->rlim_fsize,
  };
  memcpy(blob, &h, sizeof h);
  char *at = blob + sizeof h;
  for (size_t i = 0; i < 5; i++) at = put(at, strs[i]);
  memcpy(at, p->argv, argv_len);
  at += argv_len;
  memcpy(at, p->envp, env_len);
  at += env_len;
  if (flen > 0) memcpy(at, filter, (size_t)flen * 8);
  *out = blob;
  return total;
}

BX_API int bx_spawn(const struct bx_params *p, const uint8_t *filter, int32_t filter_len) {
  return bx_spawn_cg(p, filter, filter_len, NULL, NULL);
}

BX_API int bx_spawn_cg(const struct bx_params *p, const uint8_t *filter, int32_t filter_len, const char *cgroup_dir,
                       int32_t *placed) {
  if (placed) *placed = 0;
  const char *path = helper();
  if (!path || access(path, X_OK) < 0) return -ENOENT;
  if (p->argc < 1 || p->argc > 256 || p->envc < 0 || p->envc > 256) return -E2BIG;
  char *blob = NULL;
  size_t len = pack(p, filter, filter_len > 0 ? filter_len : 0, &blob);
  if (!len) return -E2BIG;

  /* The whole blob fits the pipe before the child runs (F_SETPIPE_SZ up to 1 MiB as root), so this never blocks. */
  int boot[2];
  if (pipe2(boot, O_CLOEXEC) < 0) {
    free(blob);
    return -errno;
  }
  if (len > 65536 && fcntl(boot[1], F_SETPIPE_SZ, (int)len) < 0) goto fail_errno;
  for (size_t off = 0; off < len;) {
    ssize_t n = write(boot[1], blob + off, len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) goto fail_errno;
    off += (size_t)n;
  }
  close(boot[1]);
  boot[1] = -1;
  free(blob);
  blob = NULL;

  /* Each dup2 onto a fixed number clears close-on-exec there; everything else Node holds is closed. */
  int srcs[] = {boot[0], p->status_fd, p->control_fd, p->exec_fd, p->stdio_fds[0], p->stdio_fds[1], p->stdio_fds[2]};
  int n = p->stdio_fds[0] >= 0 ? 7 : 4;
  char *const argv[] = {"boxlab-nsexec", NULL};
  char *const envp[] = {NULL};
  pid_t pid;
  if (cgroup_dir && cgroup_dir[0]) {
    /* Born in the box's cgroup: no cgroup.procs write later, and not a moment outside the box's limits. */
    int rc = bx_clone_into_cgroup(path, argv, envp, srcs, n, cgroup_dir, &pid);
    if (rc == 0) {
      close(boot[0]);
      if (placed) *placed = 1;
      return pid;
    }
    /* Kernels before 5.7 (ENOSYS before 5.3, E2BIG for the larger struct) or an unsupported arch: attach later. */
    if (rc != -ENOSYS && rc != -E2BIG && rc != -EINVAL && rc != -EOPNOTSUPP) {
      close(boot[0]);
      return rc;
    }
  }
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&at);
  for (int i = 0; i < n; i++) posix_spawn_file_actions_adddup2(&fa, srcs[i], BX_FD_BOOTSTRAP + i);
  posix_spawn_file_actions_addclosefrom_np(&fa, BX_FD_BOOTSTRAP + n);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setsigdefault(&at, &all);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  int rc = posix_spawn(&pid, path, &fa, &at, argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  close(boot[0]);
  return rc ? -rc : pid;

fail_errno:;
  int e = errno;
  free(blob);
  close(boot[0]);
  if (boot[1] >= 0) close(boot[1]);
  return -e;
}
