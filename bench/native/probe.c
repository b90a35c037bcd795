/* probe.c: kernel micro-measurements for the create-latency analysis (fork vs vfork cost by RSS, cgroup v1
 * mkdir/attach/rmdir cost, sequential vs parallel attach). Built and run by bench/sections/costs.ts; prints JSON.
 *
 *   probe fork <MB> <iters>                 fork / vfork / clone(CLONE_VM|CLONE_VFORK) / vfork+exec of a small
 *                                           helper, with <MB> of touched anon memory
 *   probe attach <iters> seq|par <dir>...   write a fresh child's pid to <dir>/cgroup.procs of each dir
 *                                           (env PROBE_GAP_MS: idle ms before each attach)
 *   probe mkdir <iters> <parent>...         mkdir + rmdir of <parent>/probe-<pid>-<i> in each hierarchy
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char *what, const char *path) {
  fprintf(stderr, "probe: %s(%s): %s\n", what, path ? path : "", strerror(errno));
  exit(1);
}

static void print_array(const char *name, const double *v, int n, int last) {
  printf("\"%s\":[", name);
  for (int i = 0; i < n; i++) printf("%s%.4f", i ? "," : "", v[i]);
  printf("]%s", last ? "" : ",");
}

/* ---- fork cost ---------------------------------------------------------------------------------------- */

static char child_stack[64 * 1024] __attribute__((aligned(16)));
static int clone_child(void *arg) { (void)arg; _exit(0); }

static int cmd_fork(int mb, int iters) {
  /* Touched anonymous memory: fork copies its page tables (and marks it COW); vfork/CLONE_VM share the mm. */
  size_t len = (size_t)mb << 20;
  static char *mem; /* static: vfork shares this stack frame with the child */
  if (len) {
    mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) die("mmap", NULL);
    /* 4 KiB pages, as most of a V8 heap is: no THP, so the page-table copy is the real one. */
    madvise(mem, len, MADV_NOHUGEPAGE);
    for (size_t i = 0; i < len; i += 4096) mem[i] = 1;
  }
  double *fork_ret = calloc(iters, sizeof(double)), *fork_reap = calloc(iters, sizeof(double));
  double *vfork_reap = calloc(iters, sizeof(double)), *clone_reap = calloc(iters, sizeof(double));
  double *exec_reap = calloc(iters, sizeof(double));
  for (int i = 0; i < iters; i++) {
    double t0 = now_ms();
    pid_t p = fork();
    if (p < 0) die("fork", NULL);
    if (p == 0) _exit(0);
    fork_ret[i] = now_ms() - t0;
    waitpid(p, NULL, 0);
    fork_reap[i] = now_ms() - t0;

    t0 = now_ms();
    p = vfork();
    if (p < 0) die("vfork", NULL);
    if (p == 0) _exit(0);
    waitpid(p, NULL, 0);
    vfork_reap[i] = now_ms() - t0;

    t0 = now_ms();
    p = clone(clone_child, child_stack + sizeof child_stack, CLONE_VM | CLONE_VFORK | SIGCHLD, NULL);
    if (p < 0) die("clone", NULL);
    waitpid(p, NULL, 0);
    clone_reap[i] = now_ms() - t0;

    /* What a small exec'd helper would cost: vfork + execve of this (small, dynamically linked) binary + exit. */
    t0 = now_ms();
    p = vfork();
    if (p < 0) die("vfork", NULL);
    if (p == 0) {
      execl("/proc/self/exe", "probe", "noop", (char *)NULL);
      _exit(127);
    }
    waitpid(p, NULL, 0);
    exec_reap[i] = now_ms() - t0;
  }
  printf("{\"mb\":%d,", mb);
  print_array("fork_return", fork_ret, iters, 0);
  print_array("fork_reap", fork_reap, iters, 0);
  print_array("vfork_reap", vfork_reap, iters, 0);
  print_array("clone_vm_vfork_reap", clone_reap, iters, 0);
  print_array("vfork_exec_helper_reap", exec_reap, iters, 1);
  printf("}\n");
  if (mem) munmap(mem, len);
  return 0;
}

/* ---- cgroup attach ------------------------------------------------------------------------------------ */

#define MAX_DIRS 16
static int ndirs;
static char *dirs[MAX_DIRS];
static pid_t target;
static double per_dir[MAX_DIRS];
static pthread_barrier_t start_b, end_b;

static void write_pid(int d) {
  char path[4096], buf[32];
  snprintf(path, sizeof path, "%s/cgroup.procs", dirs[d]);
  int n = snprintf(buf, sizeof buf, "%d", target);
  double t0 = now_ms();
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) die("open", path);
  if (write(fd, buf, n) != n) die("write", path);
  close(fd);
  per_dir[d] = now_ms() - t0;
}

static void *attach_thread(void *arg) {
  int d = (int)(long)arg;
  for (;;) {
    pthread_barrier_wait(&start_b);
    if (target < 0) return NULL;
    write_pid(d);
    pthread_barrier_wait(&end_b);
  }
}

static pid_t blocked_child(int *wfd) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) die("pipe2", NULL);
  pid_t c = fork();
  if (c < 0) die("fork", NULL);
  if (c == 0) {
    char b;
    close(p[1]);
    (void)!read(p[0], &b, 1);
    _exit(0);
  }
  close(p[0]);
  *wfd = p[1];
  return c;
}

static int cmd_attach(int iters, int parallel, int gap_ms) {
  pthread_t th[MAX_DIRS];
  if (parallel) {
    pthread_barrier_init(&start_b, NULL, ndirs + 1);
    pthread_barrier_init(&end_b, NULL, ndirs + 1);
    for (int d = 0; d < ndirs; d++) pthread_create(&th[d], NULL, attach_thread, (void *)(long)d);
  }
  double *total = calloc(iters, sizeof(double));
  double *each = calloc((size_t)iters * ndirs, sizeof(double));
  for (int i = 0; i < iters; i++) {
    int wfd;
    /* Idle time before each attach, as between two sandbox creations: lets RCU-sync state go idle again. */
    if (gap_ms > 0) usleep(gap_ms * 1000);
    target = blocked_child(&wfd);
    double t0 = now_ms();
    if (parallel) {
      pthread_barrier_wait(&start_b);
      pthread_barrier_wait(&end_b);
    } else {
      for (int d = 0; d < ndirs; d++) write_pid(d);
    }
    total[i] = now_ms() - t0;
    for (int d = 0; d < ndirs; d++) each[d * iters + i] = per_dir[d];
    close(wfd);
    waitpid(target, NULL, 0);
  }
  if (parallel) {
    target = -1;
    pthread_barrier_wait(&start_b);
    for (int d = 0; d < ndirs; d++) pthread_join(th[d], NULL);
  }
  printf("{\"mode\":\"%s\",", parallel ? "par" : "seq");
  print_array("total", total, iters, 0);
  printf("\"perDir\":{");
  for (int d = 0; d < ndirs; d++) {
    char key[4200];
    snprintf(key, sizeof key, "%s", dirs[d]);
    print_array(key, each + (size_t)d * iters, iters, d == ndirs - 1);
  }
  printf("}}\n");
  return 0;
}

/* ---- cgroup mkdir / rmdir ----------------------------------------------------------------------------- */

static int cmd_mkdir(int iters) {
  double *mk = calloc((size_t)iters * ndirs, sizeof(double)), *rm = calloc((size_t)iters * ndirs, sizeof(double));
  char path[4200];
  for (int i = 0; i < iters; i++) {
    for (int d = 0; d < ndirs; d++) {
      snprintf(path, sizeof path, "%s/probe-%d-%d", dirs[d], (int)getpid(), i);
      double t0 = now_ms();
      if (mkdir(path, 0755) < 0) die("mkdir", path);
      mk[d * iters + i] = now_ms() - t0;
    }
    for (int d = 0; d < ndirs; d++) {
      snprintf(path, sizeof path, "%s/probe-%d-%d", dirs[d], (int)getpid(), i);
      double t0 = now_ms();
      /* A just-emptied v1 cgroup can be EBUSY for a moment; retry briefly. */
      for (int k = 0; rmdir(path) < 0; k++) {
        if (errno != EBUSY || k > 1000) die("rmdir", path);
        usleep(1000);
      }
      rm[d * iters + i] = now_ms() - t0;
    }
  }
  printf("{\"mkdir\":{");
  for (int d = 0; d < ndirs; d++) print_array(dirs[d], mk + (size_t)d * iters, iters, d == ndirs - 1);
  printf("},\"rmdir\":{");
  for (int d = 0; d < ndirs; d++) print_array(dirs[d], rm + (size_t)d * iters, iters, d == ndirs - 1);
  printf("}}\n");
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 2 && !strcmp(argv[1], "noop")) return 0;
  if (argc >= 4 && !strcmp(argv[1], "fork")) return cmd_fork(atoi(argv[2]), atoi(argv[3]));
  int first = !strcmp(argv[1 < argc ? 1 : 0], "attach") ? 4 : 3;
  if (argc > first && argc - first <= MAX_DIRS) {
    ndirs = argc - first;
    for (int d = 0; d < ndirs; d++) dirs[d] = argv[first + d];
    if (!strcmp(argv[1], "attach")) return cmd_attach(atoi(argv[2]), !strcmp(argv[3], "par"), getenv("PROBE_GAP_MS") ? atoi(getenv("PROBE_GAP_MS")) : 0);
    if (!strcmp(argv[1], "mkdir")) return cmd_mkdir(atoi(argv[2]));
  }
  fprintf(stderr, "usage: probe fork <MB> <iters> | attach <iters> seq|par <dir>... | mkdir <iters> <parent>...\n");
  return 2;
}
