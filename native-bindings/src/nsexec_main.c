/* nsexec_main.c: entry of the boxlab-nsexec program: reads the bootstrap blob, then becomes the namespaced parent. */
#include "child_internal.h"
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct bx_params params;
static struct ctx c;
static char blob[BX_BLOB_MAX];

/* The blob comes from our own parent, but it is still checked field by field: a malformed one ends here. */
static const char *take_str(size_t *off, size_t len) {
  const char *s = blob + *off;
  const char *nul = memchr(s, 0, len - *off);
  if (!nul) _exit(126);
  *off += (size_t)(nul - s) + 1;
  return s;
}

int main(void) {
  size_t len = 0;
  for (;;) {
    ssize_t n = read(BX_FD_BOOTSTRAP, blob + len, sizeof blob - len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    len += (size_t)n;
  }
  close(BX_FD_BOOTSTRAP);
  struct bx_blob_header h;
  if (len < sizeof h) _exit(126);
  memcpy(&h, blob, sizeof h);
  if (h.magic != BX_BLOB_MAGIC || h.total_len != len || h.argc < 1 || h.argc > MAX_ARGS || h.envc < 0 ||
      h.envc > MAX_ARGS || (size_t)h.filter_len * 8 > len)
    _exit(126);
  size_t off = sizeof h, end = len - (size_t)h.filter_len * 8;
  params.root = take_str(&off, end);
  params.hostname = take_str(&off, end);
  params.workdir = take_str(&off, end);
  params.dev_opts = take_str(&off, end);
  params.shm_opts = take_str(&off, end);
  for (int i = 0; i < h.argc; i++) c.argv[i] = (char *)take_str(&off, end);
  for (int i = 0; i < h.envc; i++) c.envp[i] = (char *)take_str(&off, end);
  if (off != end) _exit(126);
  if (h.filter_len) {
    /* Copied to aligned storage: struct sock_filter wants 4-byte alignment, the blob offset has none. */
    static struct sock_filter filter[4096];
    if (h.filter_len > 4096) _exit(126);
    memcpy(filter, blob + end, (size_t)h.filter_len * 8);
    c.prog.filter = filter;
    c.prog.len = (unsigned short)h.filter_len;
  }
  params.argc = h.argc;
  params.envc = h.envc;
  params.use_pty = h.use_pty;
  for (int i = 0; i < 3; i++) params.stdio_fds[i] = h.has_stdio ? BX_FD_STDIO + i : -1;
  params.status_fd = BX_FD_STATUS;
  params.control_fd = BX_FD_CONTROL;
  params.exec_fd = BX_FD_EXEC;
  params.ns_flags = h.ns_flags;
  params.cap_keep = h.cap_keep;
  params.disable = h.disable;
  params.fail_at = h.fail_at;
  params.rlim_nofile = h.rlim_nofile;
  params.rlim_fsize = h.rlim_fsize;
  params.rows = h.rows;
  params.cols = h.cols;
  /* The status and exec pipes must not survive the shell's execve; dup2 cleared their close-on-exec flag. */
  fcntl(BX_FD_STATUS, F_SETFD, FD_CLOEXEC);
  fcntl(BX_FD_EXEC, F_SETFD, FD_CLOEXEC);
  c.p = &params;
  container_intermediate_process(&c);
}
