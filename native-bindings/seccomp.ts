// Compiles a SeccompPolicy into a classic-BPF sock_filter array with libseccomp (via koffi), for the inner child.
import fs from 'node:fs';
import os from 'node:os';
import koffi from 'koffi';
import { SandboxError } from '../server/engine/types.ts';
import { errnoName, SyscallError } from './errors.ts';
import type { ArgCmp, Arch, SeccompPolicy } from '../server/engine/security/policy.ts';

// seccomp.h (libseccomp 2.5.4) constants. The installed 2.5.4 has no seccomp_export_bpf_mem (2.6+; `nm -D`
// shows only seccomp_export_bpf), so the program is exported into a memfd and read back.
const SCMP_ACT_KILL_PROCESS = 0x80000000;
const SCMP_ACT_ALLOW = 0x7fff0000;
const SCMP_ACT_ERRNO = (e: number) => (0x00050000 | (e & 0xffff)) >>> 0;
const SCMP_FLTATR_ACT_BADARCH = 2;
const SCMP_FLTATR_CTL_OPTIMIZE = 8; // 2 = binary tree of syscall numbers: O(log n) checks per syscall
const SCMP_FLTATR_API_SYSRAWRC = 9; // return real errnos instead of libseccomp's -ECANCELED
const SCMP_CMP: Record<ArgCmp['op'], number> = { ne: 1, lt: 2, le: 3, eq: 4, ge: 5, gt: 6, masked_eq: 7 };
const ARCH_NAMES: Record<number, Arch> = { 0xc000003e: 'x86_64' }; // AUDIT_ARCH_X86_64
const MFD_CLOEXEC = 1;
const U64 = 0xffffffffffffffffn;
/** sizeof(struct sock_filter): u16 code, u8 jt, u8 jf, u32 k. */
export const SOCK_FILTER_SIZE = 8;
/** BPF_MAXINSNS: the kernel refuses longer classic BPF programs. */
export const BPF_MAXINSNS = 4096;

interface Lib {
  init: (def: number) => bigint | null;
  release: (ctx: bigint) => void;
  archNative: () => number;
  archExist: (ctx: bigint, arch: number) => number;
  attrSet: (ctx: bigint, attr: number, value: number) => number;
  resolve: (name: string) => number;
  ruleAdd: (ctx: bigint, action: number, nr: number, n: number, cmps: object[] | null) => number;
  exportBpf: (ctx: bigint, fd: number) => number;
  memfdCreate: (name: string, flags: number) => number;
}
let lib: Lib | null = null;

function load(): Lib {
  if (lib) return lib;
  const s = koffi.load('libseccomp.so.2');
  const c = koffi.load('libc.so.6');
  // struct scmp_arg_cmp { unsigned int arg; enum scmp_compare op; scmp_datum_t datum_a, datum_b; } (24 bytes)
  koffi.struct('scmp_arg_cmp', { arg: 'uint', op: 'int', datum_a: 'uint64', datum_b: 'uint64' });
  lib = {
    init: s.func('void *seccomp_init(uint32_t def_action)'),
    release: s.func('void seccomp_release(void *ctx)'),
    archNative: s.func('uint32_t seccomp_arch_native(void)'),
    archExist: s.func('int seccomp_arch_exist(void *ctx, uint32_t arch)'),
    attrSet: s.func('int seccomp_attr_set(void *ctx, int attr, uint32_t value)'),
    resolve: s.func('int seccomp_syscall_resolve_name(const char *name)'),
    // The array form avoids passing scmp_arg_cmp structs through C varargs, which koffi cannot type-check.
    ruleAdd: s.func('int seccomp_rule_add_exact_array(void *ctx, uint32_t action, int syscall, unsigned int n, const scmp_arg_cmp *cmps)'),
    exportBpf: s.func('int seccomp_export_bpf(void *ctx, int fd)'),
    memfdCreate: c.func('int memfd_create(const char *name, unsigned int flags)'),
  };
  return lib;
}

function fail(syscall: string, errno: number, message?: string): never {
  throw new SandboxError('seccomp', new SyscallError(syscall, errno), message);
}

/** Native audit arch name ('x86_64'), or the raw token in hex when this file has no name for it. */
export function nativeArch(): string {
  const token = load().archNative() >>> 0;
  return ARCH_NAMES[token] ?? `0x${token.toString(16)}`;
}

/** Syscall number on the native arch, or null when it does not exist there (libseccomp gives a negative pseudo-number). */
export function resolveSyscall(name: string): number | null {
  const nr = load().resolve(name);
  return nr >= 0 ? nr : null;
}

/**
 * Single comparisons whose union is "arg is NOT one of values". libseccomp refuses two comparisons on the same
 * argument in one rule (-EINVAL, measured on 2.5.4), so "v != 0 && v != 8" cannot be written directly: the gaps
 * between allowed values are cut into aligned power-of-two blocks (like CIDR ranges), each one masked_eq, plus a
 * gt rule above the largest value. Pure, so the unit test can check it against every value of a range.
 */
export function denyAllExcept(arg: ArgCmp['arg'], values: readonly bigint[]): ArgCmp[] {
  const sorted = [...new Set(values)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const [min, max] = [sorted[0], sorted.at(-1)];
  if (min === undefined || max === undefined || min < 0n || max > U64) {
    throw new RangeError('denyAllExcept: values must be non-empty 64-bit unsigned numbers');
  }
  const out: ArgCmp[] = [];
  const cover = (lo: bigint, hi: bigint) => {
    while (lo <= hi) {
      let size = 1n;
      while (lo % (size * 2n) === 0n && lo + size * 2n - 1n <= hi) size *= 2n;
      out.push(size === 1n ? { arg, op: 'eq', value: lo } : { arg, op: 'masked_eq', mask: ~(size - 1n) & U64, value: lo });
      lo += size;
    }
  };
  let next = 0n;
  for (const v of sorted) {
    if (v > next) cover(next, v - 1n);
    next = v + 1n;
  }
  if (max < U64) out.push({ arg, op: 'gt', value: max });
  return out;
}

export interface CompiledSeccomp {
  /** Raw struct sock_filter array in host byte order, ready for PR_SET_SECCOMP's sock_fprog. */
  bpf: Buffer;
  instructions: number;
  /** libseccomp rules added (a policy rule with allowOnly becomes several). */
  rules: number;
  /** Policy syscalls that do not exist on this arch, with the policy's stated reason. */
  skipped: { syscall: string; reason: string }[];
  arch: string;
  compileMs: number;
}

function toCmp(c: ArgCmp) {
  // For masked_eq libseccomp wants datum_a = mask, datum_b = value; other ops use datum_a only.
  return c.op === 'masked_eq'
    ? { arg: c.arg, op: SCMP_CMP.masked_eq, datum_a: c.mask ?? U64, datum_b: c.value }
    : { arg: c.arg, op: SCMP_CMP[c.op], datum_a: c.value, datum_b: 0n };
}

export function compileSeccompFilterDetailed(policy: SeccompPolicy): CompiledSeccomp {
  const t0 = performance.now();
  const l = load();
  const arch = nativeArch();
  const ctx = l.init(SCMP_ACT_ALLOW);
  if (!ctx) fail('seccomp_init', os.constants.errno.ENOMEM);
  let fd = -1;
  try {
    const attr = (name: string, a: number, v: number) => {
      const rc = l.attrSet(ctx, a, v);
      if (rc < 0) fail(`seccomp_attr_set(${name})`, -rc);
    };
    attr('API_SYSRAWRC', SCMP_FLTATR_API_SYSRAWRC, 1);
    attr('ACT_BADARCH', SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    attr('CTL_OPTIMIZE', SCMP_FLTATR_CTL_OPTIMIZE, 2);
    // seccomp_init adds only the native arch; make sure of it, since any other ABI must hit ACT_BADARCH.
    if (l.archExist(ctx, l.archNative()) !== 0) fail('seccomp_arch_exist', os.constants.errno.EINVAL);

    const skipped: CompiledSeccomp['skipped'] = [];
    let rules = 0;
    for (const rule of policy.rules) {
      const nr = l.resolve(rule.syscall);
      if (nr < 0) {
        const reason = rule.absentOn?.[arch as Arch];
        if (!reason)
          fail(
            'seccomp_syscall_resolve_name',
            os.constants.errno.ENOENT,
            `seccomp: syscall "${rule.syscall}" does not exist on ${arch} and the policy gives no reason to skip it`,
          );
        if (!skipped.some((s) => s.syscall === rule.syscall)) skipped.push({ syscall: rule.syscall, reason });
        continue;
      }
      const errno = os.constants.errno[rule.errno];
      const conds: (ArgCmp | null)[] = rule.allowOnly ? denyAllExcept(rule.allowOnly.arg, rule.allowOnly.values) : [rule.when ?? null];
      for (const cond of conds) {
        const rc = l.ruleAdd(ctx, SCMP_ACT_ERRNO(errno), nr, cond ? 1 : 0, cond ? [toCmp(cond)] : null);
        if (rc < 0) fail('seccomp_rule_add_exact_array', -rc, `seccomp: rule for ${rule.syscall} refused: ${errnoName(-rc)}`);
        rules++;
      }
    }

    fd = l.memfdCreate('boxlab-seccomp', MFD_CLOEXEC);
    if (fd < 0) fail('memfd_create', koffi.errno());
    const rc = l.exportBpf(ctx, fd);
    if (rc < 0) fail('seccomp_export_bpf', -rc);
    const size = fs.fstatSync(fd).size;
    const bpf = Buffer.alloc(size);
    if (fs.readSync(fd, bpf, 0, size, 0) !== size) fail('read', os.constants.errno.EIO);
    const instructions = size / SOCK_FILTER_SIZE;
    if (size === 0 || size % SOCK_FILTER_SIZE !== 0 || instructions > BPF_MAXINSNS) {
      fail('seccomp_export_bpf', os.constants.errno.E2BIG, `seccomp: exported program has a bad size (${size} bytes)`);
    }
    return { bpf, instructions, rules, skipped, arch, compileMs: performance.now() - t0 };
  } finally {
    if (fd >= 0) fs.closeSync(fd);
    l.release(ctx);
  }
}

/** The policy as a raw sock_filter array (8 bytes per instruction); instructions = buffer.length / 8. */
export function compileSeccompFilter(policy: SeccompPolicy): Buffer {
  return compileSeccompFilterDetailed(policy).bpf;
}
