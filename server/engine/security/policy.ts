// The box's security policy as pure data: the seccomp deny list and the capability allowlist, each entry with its reason.

/** One comparison on a syscall argument (libseccomp's struct scmp_arg_cmp). For masked_eq: (arg & mask) == value. */
export interface ArgCmp {
  arg: 0 | 1 | 2 | 3 | 4 | 5;
  op: 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge' | 'masked_eq';
  value: bigint;
  mask?: bigint;
}

export type Arch = 'x86_64';

export interface SyscallRule {
  syscall: string;
  /** Errno the call fails with (the filter's SCMP_ACT_ERRNO). */
  errno: 'EPERM' | 'ENOSYS';
  /** Refuse only when this single comparison holds (libseccomp allows one comparison per argument per rule). */
  when?: ArgCmp;
  /** Refuse unless this argument equals one of these values. The compiler expands it into several rules. */
  allowOnly?: { arg: 0 | 1 | 2 | 3 | 4 | 5; values: bigint[] };
  why: string;
  /** Architectures on which this syscall does not exist, with the reason; the compiler skips it there and says so. */
  absentOn?: Partial<Record<Arch, string>>;
}

export interface SeccompPolicy {
  /** Everything not listed is allowed: the box runs arbitrary user programs, a denylist keeps them working. */
  defaultAction: 'allow';
  /**
   * Any other ABI (i386 via int 0x80, x32 via __X32_SYSCALL_BIT) kills the process: their syscall numbers differ,
   * so a rule written for x86_64 numbers would not match them (the classic seccomp bypass, see seccomp(2) "arch").
   */
  badArch: 'kill_process';
  rules: SyscallRule[];
}

const deny = (syscall: string, why: string, extra: Partial<SyscallRule> = {}): SyscallRule => ({
  syscall,
  errno: 'EPERM',
  why,
  ...extra,
});

/** clone(2)/unshare(2) namespace flags from linux/sched.h. */
export const CLONE_NEW = {
  CLONE_NEWTIME: 0x00000080n,
  CLONE_NEWNS: 0x00020000n,
  CLONE_NEWCGROUP: 0x02000000n,
  CLONE_NEWUTS: 0x04000000n,
  CLONE_NEWIPC: 0x08000000n,
  CLONE_NEWUSER: 0x10000000n,
  CLONE_NEWPID: 0x20000000n,
  CLONE_NEWNET: 0x40000000n,
} as const;

export const TIOCSTI = 0x5412n;
export const TIOCLINUX = 0x541cn;
const LOW32 = 0xffffffffn;

const KEYRING = 'the kernel keyring is not namespaced: a box could read or fill keys of the host (Docker blocks it)';
const NEWMOUNT = 'new mount API (Linux 5.2+): mounting from inside the box; the box has no reason to change its mounts';
const TIME = 'the clock is not namespaced (time namespaces only offset monotonic/boottime): would change host time';

export const BOX_SECCOMP_POLICY: SeccompPolicy = {
  defaultAction: 'allow',
  badArch: 'kill_process',
  rules: [
    deny('keyctl', KEYRING),
    deny('add_key', KEYRING),
    deny('request_key', KEYRING),
    deny('bpf', 'eBPF verifier bugs are a steady source of kernel exploits (e.g. CVE-2021-3490, CVE-2022-23222)'),
    deny('perf_event_open', 'perf is a large attack surface (CVE-2013-2094, CVE-2023-2235) and leaks host activity'),
    deny('userfaultfd', 'lets an exploit stall the kernel mid copy_from_user to win races; why vm.unprivileged_userfaultfd exists (5.2)'),
    deny('io_uring_setup', 'io_uring bypasses syscall filtering and had many LPEs (CVE-2023-2598); Docker blocks it since 2023'),
    deny('io_uring_enter', 'see io_uring_setup'),
    deny('io_uring_register', 'see io_uring_setup'),
    deny('kexec_load', 'loads a new kernel'),
    deny('kexec_file_load', 'loads a new kernel'),
    deny('init_module', 'loads kernel code'),
    deny('finit_module', 'loads kernel code'),
    deny('delete_module', 'unloads host kernel modules'),
    deny('open_by_handle_at', 'opens host files by handle, escaping the mount tree ("shocker" exploit, 2014)'),
    deny('name_to_handle_at', 'pair of open_by_handle_at; leaks host inode handles'),
    deny('mount', 'the box gets its mounts from the engine; mount in a user namespace widens the attack surface'),
    deny('umount2', 'unmounting the masks over /proc paths would reveal them (runc maskedPaths)'),
    deny('pivot_root', 'the engine already pivoted; a second one is only useful to an escape'),
    deny('move_mount', NEWMOUNT),
    deny('open_tree', NEWMOUNT),
    deny('fsopen', NEWMOUNT + '; fsconfig heap overflow CVE-2022-0185 was reachable from a user namespace'),
    deny('fsmount', NEWMOUNT),
    deny('fsconfig', NEWMOUNT + '; CVE-2022-0185'),
    deny('fspick', NEWMOUNT),
    deny('mount_setattr', NEWMOUNT),
    deny('unshare', 'new namespaces, above all a nested user namespace, open kernel code paths meant for root'),
    deny('setns', 'joining other namespaces; the box should stay in its own'),
    deny('ptrace', 'tracing is a classic escape helper (CVE-2019-13272) and reads other processes memory'),
    deny('process_vm_readv', 'reads another process memory, like ptrace'),
    deny('process_vm_writev', 'writes another process memory, like ptrace'),
    deny('kcmp', 'compares kernel pointers of other processes, an info leak'),
    deny('syslog', 'the kernel log is not namespaced and leaks host addresses and activity'),
    deny('acct', 'process accounting is host-wide'),
    deny('swapon', 'host-wide swap'),
    deny('swapoff', 'host-wide swap'),
    deny('reboot', 'reboot(2) in a PID namespace only kills it, but there is no reason to allow it'),
    deny('settimeofday', TIME),
    deny('clock_settime', TIME),
    deny('clock_adjtime', TIME),
    deny('adjtimex', TIME),
    deny('quotactl', 'host filesystem quotas'),
    deny('lookup_dcookie', 'kernel profiling interface, leaks host paths'),
    deny('vm86', 'virtual 8086 mode: legacy, rarely audited kernel code', {
      absentOn: { x86_64: 'i386-only syscall, not in the x86_64 table (badArch kills i386 callers anyway)' },
    }),
    deny('vm86old', 'see vm86', {
      absentOn: { x86_64: 'i386-only syscall, not in the x86_64 table (badArch kills i386 callers anyway)' },
    }),
    deny('iopl', 'raw I/O port access to host hardware'),
    deny('ioperm', 'raw I/O port access to host hardware'),
    deny('nfsservctl', 'removed in Linux 3.1 (returns ENOSYS); blocked as Docker does in case an old kernel has it'),
    // personality(2): only PER_LINUX (0), PER_LINUX32 (8) and the 0xffffffff query, as Docker's profile; other flags such
    // as ADDR_NO_RANDOMIZE turn off ASLR, and READ_IMPLIES_EXEC makes data executable, both exploit helpers.
    deny('personality', 'only the default personas and the query are allowed (ADDR_NO_RANDOMIZE disables ASLR)', {
      allowOnly: { arg: 0, values: [0n, 8n, 0xffffffffn] },
    }),
    // clone(2): refused when any namespace flag is set (Docker allows clone only with these flags clear); plain
    // fork and thread creation pass. CLONE_NEWTIME (0x80) lies inside CSIGNAL for clone(); no valid exit signal
    // (1..64) sets bit 0x80, so the rule costs nothing legitimate.
    ...Object.entries(CLONE_NEW).map(([name, flag]) =>
      deny('clone', `${name} in flags: new namespaces are refused, as for unshare`, {
        when: { arg: 0, op: 'masked_eq', mask: flag, value: flag },
      }),
    ),
    // clone3(2) passes its flags in memory that seccomp cannot read, so it must fail as "not implemented": glibc
    // (2.34+) then falls back to clone(2), whose flags the rules above can see. Docker's profile does the same.
    { syscall: 'clone3', errno: 'ENOSYS', why: 'flags are behind a pointer; ENOSYS makes libc fall back to clone' },
    // ioctl(2) request is an unsigned int in the kernel but a 64-bit register to seccomp: compare the low 32 bits
    // only, or 0x100005412 slips past an EQ 0x5412 rule yet still means TIOCSTI (CVE-2019-10063, flatpak).
    deny('ioctl', 'TIOCSTI pushes characters into the input of a terminal the box shares, running commands outside', {
      when: { arg: 1, op: 'masked_eq', mask: LOW32, value: TIOCSTI },
    }),
    deny('ioctl', 'TIOCLINUX can select/paste on a virtual console, the same injection as TIOCSTI (CVE-2023-1523)', {
      when: { arg: 1, op: 'masked_eq', mask: LOW32, value: TIOCLINUX },
    }),
  ],
};

/** Capability numbers from linux/capability.h (CAP_LAST_CAP is 40, CAP_CHECKPOINT_RESTORE, since Linux 5.9). */
export const CAPS = {
  CHOWN: 0,
  DAC_OVERRIDE: 1,
  DAC_READ_SEARCH: 2,
  FOWNER: 3,
  FSETID: 4,
  KILL: 5,
  SETGID: 6,
  SETUID: 7,
  SETPCAP: 8,
  LINUX_IMMUTABLE: 9,
  NET_BIND_SERVICE: 10,
  NET_BROADCAST: 11,
  NET_ADMIN: 12,
  NET_RAW: 13,
  IPC_LOCK: 14,
  IPC_OWNER: 15,
  SYS_MODULE: 16,
  SYS_RAWIO: 17,
  SYS_CHROOT: 18,
  SYS_PTRACE: 19,
  SYS_PACCT: 20,
  SYS_ADMIN: 21,
  SYS_BOOT: 22,
  SYS_NICE: 23,
  SYS_RESOURCE: 24,
  SYS_TIME: 25,
  SYS_TTY_CONFIG: 26,
  MKNOD: 27,
  LEASE: 28,
  AUDIT_WRITE: 29,
  AUDIT_CONTROL: 30,
  SETFCAP: 31,
  MAC_OVERRIDE: 32,
  MAC_ADMIN: 33,
  SYSLOG: 34,
  WAKE_ALARM: 35,
  BLOCK_SUSPEND: 36,
  AUDIT_READ: 37,
  PERFMON: 38,
  BPF: 39,
  CHECKPOINT_RESTORE: 40,
} as const;
export type CapName = keyof typeof CAPS;

/**
 * What the box keeps: Docker's default set minus MKNOD and NET_RAW. The box is root only inside its user
 * namespace, so these act on its own files, processes and network namespace.
 */
export const BOX_CAPS = [
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'SETGID',
  'SETUID',
  'SETPCAP',
  'NET_BIND_SERVICE',
  'SYS_CHROOT',
  'AUDIT_WRITE',
  'SETFCAP',
] as const satisfies readonly CapName[];

/** Every other capability is dropped from all sets (bounding, permitted, effective, inheritable, ambient). Why
 * (the type makes the compiler check that kept + dropped = all of CAPS): */
export const DROPPED_CAPS: Readonly<Record<Exclude<CapName, (typeof BOX_CAPS)[number]>, string>> = {
  DAC_READ_SEARCH: 'allows open_by_handle_at, the "shocker" container escape (2014)',
  LINUX_IMMUTABLE: 'chattr +i/+a; nothing in a playground needs it',
  NET_BROADCAST: 'unused by Linux; dropped by default',
  NET_ADMIN: 'netfilter/tc/route config; netfilter in a user namespace gave CVE-2022-1015, CVE-2023-32233',
  NET_RAW: 'raw and packet sockets: packet spoofing and the AF_PACKET overflow CVE-2020-14386',
  IPC_LOCK: 'mlock beyond RLIMIT_MEMLOCK could pin host memory',
  IPC_OWNER: 'bypasses SysV IPC permission checks',
  SYS_MODULE: 'loads kernel modules: full host compromise',
  SYS_RAWIO: 'raw device and port I/O (iopl, /dev/mem)',
  SYS_PTRACE: 'ptrace of any process in the box, and process_vm_*; escape helper (CVE-2019-13272)',
  SYS_PACCT: 'acct(2) is host-wide',
  SYS_ADMIN: 'the "new root": mount, many ioctls, bpf; mount in a user namespace reached CVE-2022-0185',
  SYS_BOOT: 'reboot, kexec_load',
  SYS_NICE: 'real-time scheduling could starve the host CPUs',
  SYS_RESOURCE: 'raise rlimits past the box limits, exceed quotas',
  SYS_TIME: 'set the host clock (time is not namespaced)',
  SYS_TTY_CONFIG: 'vhangup and console configuration',
  MKNOD: 'device nodes; the box /dev is fixed by the engine and device access is the engine decision',
  LEASE: 'file leases can block other processes opening shared files',
  AUDIT_CONTROL: 'configure the host audit system',
  MAC_OVERRIDE: 'override AppArmor/SELinux/Smack',
  MAC_ADMIN: 'configure AppArmor/SELinux/Smack',
  SYSLOG: 'read the kernel log (host addresses, kptr_restrict bypass)',
  WAKE_ALARM: 'wake the host from suspend',
  BLOCK_SUSPEND: 'keep the host from suspending',
  AUDIT_READ: 'read the host audit log via netlink',
  PERFMON: 'perf_event_open and its attack surface',
  BPF: 'bpf(2) and its verifier attack surface',
  CHECKPOINT_RESTORE: 'set pids of new processes, read other processes state (CRIU)',
};

/** The capability bit mask (bit n = CAP n) as capset(2)/prctl(PR_CAPBSET_DROP) callers need, from names or numbers. */
export function capMask(list: readonly (CapName | number)[]): bigint {
  let mask = 0n;
  for (const cap of list) {
    const n = typeof cap === 'number' ? cap : CAPS[cap];
    if (n === undefined || !Number.isInteger(n) || n < 0 || n > 63) {
      throw new RangeError(`capMask: unknown capability ${String(cap)}`);
    }
    mask |= 1n << BigInt(n);
  }
  return mask;
}

/** BOX_CAPS as numbers, sorted. */
export const BOX_CAP_NUMBERS: readonly number[] = BOX_CAPS.map((c) => CAPS[c]).sort((a, b) => a - b);
