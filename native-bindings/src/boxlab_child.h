/* boxlab_child.h: the ABI between the Node engine (through koffi) and the C code that runs between fork and exec. */
#ifndef BOXLAB_CHILD_H
#define BOXLAB_CHILD_H
#include <stdint.h>
#include <sys/types.h>

#define BX_ABI_VERSION 1
/* Only the entry points below are exported; the library is built with -fvisibility=hidden. */
#define BX_API __attribute__((visibility("default")))
#define BX_DETAIL_MAX 96

/* Stage ids: must match the index of each name in STAGES (server/engine/types.ts); a unit test checks it. */
enum bx_stage {
  BX_FORK1 = 1,
  BX_UNSHARE_USER = 4,
  BX_UNSHARE_NS = 8,
  BX_HOSTNAME = 9,
  BX_NET_LO_UP = 10,
  BX_FORK2 = 11,
  BX_MOUNT_PRIVATE = 12,
  BX_MOUNT_PROC = 13,
  BX_MOUNT_DEV = 14,
  BX_MASK_PATHS = 15,
  BX_PTY_OPEN = 16,
  BX_PIVOT_ROOT = 17,
  BX_CHDIR = 18,
  BX_SECCOMP = 19,
  BX_DROP_PRIVILEGES = 20,
  BX_EXEC = 21,
  BX_CHILD_EXIT = 23,
  BX_UMOUNT_PROC = 24,
  BX_UMOUNT_DEV = 25,
};

enum bx_role { BX_ROLE_NAMESPACED_PARENT = 1, BX_ROLE_INNER_CHILD = 2 };

/* Defenses the security suite may switch off one at a time, to prove each probe can fail. */
enum bx_disable {
  BX_NO_SECCOMP = 1 << 0,
  BX_NO_CAPS = 1 << 1,
  BX_NO_NNP = 1 << 2,
  BX_NO_MASK = 1 << 3,
  BX_NO_CLOSE_FDS = 1 << 4,
  BX_NO_RLIMITS = 1 << 5,
  BX_NO_PIVOT = 1 << 6,
  BX_NO_PROC_RO = 1 << 7,
  /* Not a defense: lab mode (server/engine/security/lab-policy.ts). The namespaced parent caps the nested
   * namespaces of the box, and PID 1 mounts /proc without mount flags so that nested proc mounts pass. */
  BX_LAB = 1 << 16,
};

/* One fixed-size record per stage on the status pipe: smaller than PIPE_BUF, so writes from both
 * processes never interleave (pipe(7)), and the reader never trusts a length from the box. */
struct bx_event {
  int32_t stage;
  int32_t role;
  int32_t ok;
  int32_t err;     /* errno when !ok */
  int32_t pid;     /* pid in the caller's pid namespace */
  int32_t value;   /* stage-specific: fork2 -> child pid, pty_open -> master fd, child_exit -> wait status */
  int64_t t_start; /* CLOCK_MONOTONIC ns */
  int64_t t_end;
  char syscall[24];
  char detail[BX_DETAIL_MAX];
};

struct bx_params {
  const char *root; /* merged overlay dir, a mount point in the host mount namespace */
  const char *hostname;
  const char *workdir;
  const char *argv; /* NUL-separated, argc entries */
  const char *envp; /* NUL-separated, envc entries */
  int32_t argc;
  int32_t envc;
  int32_t use_pty;
  int32_t stdio_fds[3]; /* pipe mode only */
  int32_t status_fd;    /* events, write end */
  int32_t control_fd;   /* 'G' go, 'P' pty taken, from the outer parent; read end */
  int32_t exec_fd;      /* CLOEXEC write end: EOF with no data means execve succeeded */
  uint32_t ns_flags;    /* CLONE_NEW* for the second unshare */
  uint64_t cap_keep;
  uint32_t disable;
  int32_t fail_at; /* stage id that fails on purpose (tests), or -1 */
  int64_t rlim_nofile;
  int64_t rlim_fsize;
  const char *dev_opts; /* tmpfs options for /dev */
  const char *shm_opts; /* tmpfs options for /dev/shm */
  int32_t rows;
  int32_t cols;
};

/* How bx_spawn hands the request to the boxlab-nsexec program: fixed fds, and one bootstrap blob (runc's nsexec
 * reads a netlink message the same way): this header, then root, hostname, workdir, dev_opts, shm_opts, argv and
 * envp as NUL-terminated strings, then the seccomp filter (filter_len * 8 bytes). */
enum bx_fds { BX_FD_BOOTSTRAP = 3, BX_FD_STATUS = 4, BX_FD_CONTROL = 5, BX_FD_EXEC = 6, BX_FD_STDIO = 7 };
#define BX_BLOB_MAGIC 0x786f4278u /* "xBox" */
#define BX_BLOB_MAX (1u << 20)

struct bx_blob_header {
  uint32_t magic;
  uint32_t total_len;
  int32_t argc, envc, use_pty, has_stdio, fail_at, rows, cols;
  uint32_t ns_flags, disable, filter_len;
  uint64_t cap_keep;
  int64_t rlim_nofile, rlim_fsize;
};

/* Starts the namespaced parent (the boxlab-nsexec program beside this library) and returns its pid, or -errno. */
BX_API int bx_spawn(const struct bx_params *p, const uint8_t *seccomp_filter, int32_t seccomp_len);
/* Like bx_spawn, but on cgroup v2 the namespaced parent starts inside `cgroup_dir` (clone3 CLONE_INTO_CGROUP,
 * Linux 5.7); *placed says whether it did (0: posix_spawn fallback, the caller attaches it). */
BX_API int bx_spawn_cg(const struct bx_params *p, const uint8_t *seccomp_filter, int32_t seccomp_len,
                       const char *cgroup_dir, int32_t *placed);
/* clone3.c: starts `path` inside the cgroup directory with fds srcs[i] at BX_FD_BOOTSTRAP + i; 0 or -errno. */
int bx_clone_into_cgroup(const char *path, char *const argv[], char *const envp[], const int *srcs, int n,
                         const char *cgroup_dir, pid_t *pid_out);
BX_API int bx_abi_version(void);
BX_API int bx_event_size(void);
BX_API const char *bx_stage_name(int stage);

#endif
