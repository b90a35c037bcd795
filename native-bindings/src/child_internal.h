/* child_internal.h: state and helpers shared by the C files that run after fork (no allocation, raw syscalls). */
#ifndef BOXLAB_CHILD_INTERNAL_H
#define BOXLAB_CHILD_INTERNAL_H
#define _GNU_SOURCE
#include "boxlab_child.h"
#include <errno.h>
#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_ARGS 256
#define PATH_MAX_BX 512
/* Lab mode: how many namespaces of each kind the whole box may hold (LAB_NS_MAX in lab-policy.ts). */
#define BX_LAB_NS_MAX 32

struct ctx {
  const struct bx_params *p;
  int role;
  struct bx_event ev;
  char *argv[MAX_ARGS + 1];
  char *envp[MAX_ARGS + 1];
  struct sock_fprog prog;
};

int64_t now_ns(void);
void copy_str(char *dst, size_t cap, const char *src);
void begin(struct ctx *c, int stage);
void emit(struct ctx *c);
void ok(struct ctx *c, int32_t value);
__attribute__((noreturn)) void fail(struct ctx *c, const char *call, const char *path, int err);
void maybe_inject(struct ctx *c);
const char *in_root(char *buf, const char *root, const char *rel);
char read_control(struct ctx *c);
void reset_signals(void);
void close_other_fds(const int *keep, int n);

__attribute__((noreturn)) void container_intermediate_process(struct ctx *c);

/* child_mounts.c */
void setup_mounts(struct ctx *c);
void setup_stdio(struct ctx *c);
/* child_privileges.c */
void drop_privileges(struct ctx *c);

#define CHECK(c, expr, call, path)                                                                                     \
  do {                                                                                                                 \
    if ((expr) < 0) fail((c), (call), (path), errno);                                                                  \
  } while (0)

#endif
