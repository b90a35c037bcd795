// lab-policy.ts: lab mode's seccomp policy and capability set, derived from the box policy by a named list of removals.
import { BOX_CAPS, BOX_SECCOMP_POLICY, CLONE_NEW, type CapName, type SeccompPolicy, type SyscallRule } from './policy.ts';

/**
 * What lab mode lets through that the box policy refuses, each with the reason it is needed by a lesson. Everything
 * else of BOX_SECCOMP_POLICY stays: bpf, the keyctl family, io_uring, perf_event_open, userfaultfd, kexec, modules,
 * open_by_handle_at, ptrace, the new mount API (fsopen/fsconfig: CVE-2022-0185) and clone3 (ENOSYS, so libc uses
 * clone(2), whose flags seccomp can read).
 */
export const LAB_ALLOWED: Readonly<Record<string, string>> = {
  unshare: 'unshare(1): nested user, pid, mount, uts, ipc, net and cgroup namespaces (time stays refused)',
  setns: 'nsenter(1) into namespaces the learner made; joining one needs CAP_SYS_ADMIN over its owner, which the box has only over its own',
  clone: 'clone(2) with CLONE_NEW* flags (the runtime capstone); CLONE_NEWTIME stays refused',
  mount: "mount(8) of proc, tmpfs, overlay and binds in the learner's own mount namespaces (busybox uses mount(2) only)",
  umount2: 'umount -l of the old root after pivot_root',
  pivot_root: 'pivot_root(8) into a root the learner unpacked',
};

const TIME_ONLY = (r: SyscallRule) => r.when?.mask === CLONE_NEW.CLONE_NEWTIME;

export const LAB_SECCOMP_POLICY: SeccompPolicy = {
  ...BOX_SECCOMP_POLICY,
  rules: [
    ...BOX_SECCOMP_POLICY.rules.filter((r) => !(r.syscall in LAB_ALLOWED) || (r.syscall === 'clone' && TIME_ONLY(r))),
    // Time namespaces offset CLOCK_MONOTONIC/BOOTTIME only; no lesson needs them, so they stay out of reach.
    {
      syscall: 'unshare',
      errno: 'EPERM',
      why: 'CLONE_NEWTIME: no lesson needs time namespaces',
      when: { arg: 0, op: 'masked_eq', mask: CLONE_NEW.CLONE_NEWTIME, value: CLONE_NEW.CLONE_NEWTIME },
    },
  ],
};

/**
 * Capabilities the box keeps in lab mode, in its own user namespace only (capabilities are checked against the user
 * namespace that owns the object: none of these reach the host). SYS_ADMIN makes `unshare --pid --fork
 * --mount-proc sh` work as typed (no -U), NET_ADMIN makes veth pairs in the box's own network namespace. Nested user
 * namespaces get every capability anyway (the owner rule of user_namespaces(7)); SYS_RESOURCE stays dropped so the
 * box cannot raise its own /proc/sys/user/max_*_namespaces caps (kernel/ucount.c set_permissions).
 */
export const LAB_EXTRA_CAPS = ['SYS_ADMIN', 'NET_ADMIN'] as const satisfies readonly CapName[];
export const LAB_CAPS: readonly CapName[] = [...BOX_CAPS, ...LAB_EXTRA_CAPS];

/** Cap on each kind of namespace the whole box may hold at once (its own six count too), written by the namespaced
 * parent into the box's user namespace; must match BX_LAB_NS_MAX in native-bindings/src/child_internal.h. */
export const LAB_NS_MAX = 32;
