/* child_util.c: event reporting over the status pipe and small helpers for the forked processes (async-signal-safe only). */
#include "child_internal.h"
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void copy_str(char *dst, size_t cap, const char *src) {
  size_t i = 0;
  if (src)
    for (; src[i] && i + 1 < cap; i++) dst[i] = src[i];
  dst[i] = 0;
}

void begin(struct ctx *c, int stage) {
  memset(&c->ev, 0, sizeof c->ev);
  c->ev.stage = stage;
  c->ev.role = c->role;
  c->ev.pid = (int32_t)syscall(SYS_getpid);
  c->ev.t_start = now_ns();
}

void emit(struct ctx *c) {
  c->ev.t_end = now_ns();
  ssize_t n;
  do n = write(c->p->status_fd, &c->ev, sizeof c->ev);
  while (n < 0 && errno == EINTR);
}

void ok(struct ctx *c, int32_t value) {
  c->ev.ok = 1;
  c->ev.value = value;
  emit(c);
}

/* Reports the failed call with its errno and path (crun's error model), then ends this process. */
__attribute__((noreturn)) void fail(struct ctx *c, const char *call, const char *path, int err) {
  c->ev.ok = 0;
  c->ev.err = err;
  copy_str(c->ev.syscall, sizeof c->ev.syscall, call);
  copy_str(c->ev.detail, sizeof c->ev.detail, path);
  emit(c);
  if (c->role == BX_ROLE_INNER_CHILD && c->p->exec_fd >= 0) {
    int32_t e = err ? err : EIO;
    (void)!write(c->p->exec_fd, &e, sizeof e);
  }
  _exit(c->role == BX_ROLE_INNER_CHILD ? 127 : 1);
}


void maybe_inject(struct ctx *c) {
  if (c->p->fail_at == c->ev.stage) fail(c, "injected", "fault injected by test", EPERM);
}

/* Joins root and a path inside it into buf (no allocation after fork). */
const char *in_root(char *buf, const char *root, const char *rel) {
  size_t n = 0;
  for (const char *s = root; *s && n < PATH_MAX_BX - 1; s++) buf[n++] = *s;
  for (const char *s = rel; *s && n < PATH_MAX_BX - 1; s++) buf[n++] = *s;
  buf[n] = 0;
  return buf;
}

char read_control(struct ctx *c) {
  char b = 0;
  ssize_t n;
  do n = read(c->p->control_fd, &b, 1);
  while (n < 0 && errno == EINTR);
  if (n != 1 || b == 'X') fail(c, "read", "control pipe: outer parent aborted", n < 0 ? errno : ECANCELED);
  return b;
}

void reset_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  /* Node ignores SIGPIPE; ignored signals survive execve (signal(7)), so a shell would inherit it. */
  for (int s = 1; s < _NSIG; s++) sigaction(s, &sa, NULL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}


/* Closes every fd except the listed ones (at most 8). A forked copy of Node holds all of Node's fds: other boxes'
 * pipes and pty masters among them; keeping any would hold their ends open (no EOF) and leak them. */
void close_other_fds(const int *keep, int n) {
  int k[8];
  int m = 0;
  for (int i = 0; i < n && m < 8; i++)
    if (keep[i] >= 0) k[m++] = keep[i];
  for (int i = 1; i < m; i++)
    for (int j = i; j > 0 && k[j - 1] > k[j]; j--) {
      int t = k[j];
      k[j] = k[j - 1];
      k[j - 1] = t;
    }
  unsigned int lo = 3;
  for (int i = 0; i < m; i++) {
    if ((unsigned int)k[i] < lo) continue;
    if ((unsigned int)k[i] > lo) syscall(SYS_close_range, lo, (unsigned int)k[i] - 1, 0U);
    lo = (unsigned int)k[i] + 1;
  }
  syscall(SYS_close_range, lo, ~0U, 0U);
}
