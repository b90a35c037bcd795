/* probe.h: shared helpers of the in-box probe program (built static on the host, copied into a probe image). */
#ifndef BOXLAB_PROBE_H
#define BOXLAB_PROBE_H
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* One line per result, "KIND NAME err ENAME", so the tests compare errno names, not numbers. */
static inline void report_errno(const char *kind, const char *name, int err) {
  const char *n = strerrorname_np(err);
  printf("%s %s err %s\n", kind, name, n ? n : "E?");
}

int cmd_sys(int argc, char **argv);
#endif
