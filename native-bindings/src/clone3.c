/* clone3.c: starts boxlab-nsexec directly inside the box's cgroup v2 with clone3(CLONE_INTO_CGROUP) (Linux 5.7).
 *
 * Like glibc's posix_spawn: CLONE_VM|CLONE_VFORK on a separate stack, so no copy of Node's page tables and the
 * caller sleeps until the child has exec'd. glibc 2.36 has no public clone3 wrapper (posix_spawnattr_setcgroup_np
 * came in 2.41), so a small trampoline makes the call: the child returns from the syscall on the new stack and
 * must not return into C code (clone(2) NOTES). Between clone and execve the child runs only async-signal-safe
 * calls, with every signal blocked until their handlers are reset to SIG_DFL: Node's handlers share its memory. */
#define _GNU_SOURCE
#include "boxlab_child.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

/* include/uapi/linux/sched.h, CLONE_ARGS_SIZE_VER2 (with .cgroup). */
struct bx_clone_args {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

struct child_ctx {
  const char *path;
  char *const *argv;
  char *const *envp;
  const int *srcs;
  int n;
  volatile int err; /* shared memory (CLONE_VM): the child's execve errno, read after the vfork-style wait */
};

#if defined(__x86_64__)
long bx_clone3_tramp(struct bx_clone_args *args, size_t size, int (*fn)(void *), void *arg);
/* rdi=args rsi=size rdx=fn rcx=arg. syscall clobbers rcx and r11 only; the child starts with our registers on its
 * own stack (stack + stack_size), calls fn(arg) and exits with its result (as glibc's x86_64 clone3.S). */
__asm__(".text\n"
        ".type bx_clone3_tramp,@function\n"
        "bx_clone3_tramp:\n"
        "  mov %rcx, %r8\n"
        "  mov %rdx, %r9\n"
        "  mov $435, %eax\n" /* __NR_clone3 */
        "  syscall\n"
        "  test %rax, %rax\n"
        "  jz 1f\n"
        "  ret\n"
        "1:\n"
        "  xor %ebp, %ebp\n"
        "  and $-16, %rsp\n"
        "  mov %r8, %rdi\n"
        "  call *%r9\n"
        "  mov %eax, %edi\n"
        "  mov $60, %eax\n" /* __NR_exit */
        "  syscall\n"
        "  hlt\n"
        ".size bx_clone3_tramp, .-bx_clone3_tramp\n");
#define HAVE_TRAMP 1
#endif

#ifdef HAVE_TRAMP
static int child_main(void *arg) {
  struct child_ctx *c = arg;
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, NULL); /* EINVAL for glibc-reserved ones: fine */
  /* First out of the way (above every target), then onto the fixed numbers: a source may sit on a target fd. */
  int tmp[8];
  for (int i = 0; i < c->n; i++) {
    tmp[i] = fcntl(c->srcs[i], F_DUPFD_CLOEXEC, 64);
    if (tmp[i] < 0) goto fail;
  }
  for (int i = 0; i < c->n; i++)
    if (dup2(tmp[i], BX_FD_BOOTSTRAP + i) < 0) goto fail;
  if (syscall(SYS_close_range, BX_FD_BOOTSTRAP + c->n, ~0U, 0) < 0) goto fail;
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  execve(c->path, c->argv, c->envp);
fail:
  c->err = errno ? errno : EIO;
  return 127;
}
#endif

int bx_clone_into_cgroup(const char *path, char *const argv[], char *const envp[], const int *srcs, int n,
                         const char *cgroup_dir, pid_t *pid_out) {
#ifndef HAVE_TRAMP
  (void)path, (void)argv, (void)envp, (void)srcs, (void)n, (void)cgroup_dir, (void)pid_out;
  return -EOPNOTSUPP;
#else
  if (n > 8) return -EINVAL;
  /* O_PATH is enough: the kernel takes the cgroup from the fd with fdget_raw (cgroup_css_set_fork). */
  int cg = open(cgroup_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (cg < 0) return -errno;
  const size_t stack_size = 64 * 1024;
  void *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    int e = errno;
    close(cg);
    return -e;
  }
  struct child_ctx ctx = {.path = path, .argv = argv, .envp = envp, .srcs = srcs, .n = n, .err = 0};
  struct bx_clone_args args = {
      .flags = CLONE_VM | CLONE_VFORK | CLONE_INTO_CGROUP,
      .exit_signal = SIGCHLD,
      .stack = (uint64_t)(uintptr_t)stack,
      .stack_size = stack_size,
      .cgroup = (uint64_t)cg,
  };
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  long r = bx_clone3_tramp(&args, sizeof args, child_main, &ctx);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  munmap(stack, stack_size);
  close(cg);
  if (r < 0) return (int)r; /* -errno straight from the kernel */
  if (ctx.err) {
    /* The child failed before or at execve and has exited with 127: reap it, report why. */
    int st;
    while (waitpid((pid_t)r, &st, 0) < 0 && errno == EINTR) {}
    return -ctx.err;
  }
  *pid_out = (pid_t)r;
  return 0;
#endif
}
