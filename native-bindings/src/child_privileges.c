/* child_privileges.c: what the inner child gives up before exec: rlimits, capabilities, new privileges, fds. */
#include "child_internal.h"
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static void set_rlimit(struct ctx *c, int res, int64_t v, const char *name) {
  if (v < 0) return;
  struct rlimit rl = {.rlim_cur = (rlim_t)v, .rlim_max = (rlim_t)v};
  CHECK(c, setrlimit(res, &rl), "setrlimit", name);
}

static void drop_caps(struct ctx *c) {
  uint64_t keep = c->p->cap_keep;
  /* The bounding set caps what any later execve can gain, even of a setuid-root binary (capabilities(7)). */
  for (int cap = 0; cap < 64; cap++) {
    if (keep & (1ULL << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) fail(c, "prctl(PR_CAPBSET_DROP)", NULL, errno);
  }
  struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2];
  for (int i = 0; i < 2; i++) {
    uint32_t w = (uint32_t)(keep >> (32 * i));
    data[i].effective = w;
    data[i].permitted = w;
    data[i].inheritable = w;
  }
  CHECK(c, syscall(SYS_capset, &hdr, data), "capset", NULL);
  CHECK(c, prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "prctl(PR_CAP_AMBIENT)", NULL);
}

void drop_privileges(struct ctx *c) {
  const struct bx_params *p = c->p;
  if (!(p->disable & BX_NO_RLIMITS)) {
    set_rlimit(c, RLIMIT_CORE, 0, "RLIMIT_CORE");
    set_rlimit(c, RLIMIT_NOFILE, p->rlim_nofile, "RLIMIT_NOFILE");
    set_rlimit(c, RLIMIT_FSIZE, p->rlim_fsize, "RLIMIT_FSIZE");
  }
  if (!(p->disable & BX_NO_CAPS)) drop_caps(c);
  /* setuid binaries and file capabilities give nothing after this (prctl(2) PR_SET_NO_NEW_PRIVS). */
  if (!(p->disable & BX_NO_NNP)) CHECK(c, prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)", NULL);
  /* Every fd above 2 closes at exec: no fd of the Node process reaches the shell (CVE-2024-21626). The status
   * pipe stays usable until execve so that an exec failure can still be reported. */
  if (!(p->disable & BX_NO_CLOSE_FDS))
    CHECK(c, syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC), "close_range", NULL);
}
