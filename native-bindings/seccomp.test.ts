// Unit tests of the seccomp compiler: the exported program is run through a small classic-BPF interpreter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileSeccompFilterDetailed, denyAllExcept, resolveSyscall, BPF_MAXINSNS } from './seccomp.ts';
import { BOX_SECCOMP_POLICY, CLONE_NEW, type ArgCmp } from '../server/engine/security/policy.ts';
import { SandboxError } from '../server/engine/types.ts';

const AUDIT_ARCH_X86_64 = 0xc000003e,
  AUDIT_ARCH_I386 = 0x40000003;
const ALLOW = 0x7fff0000,
  KILL_PROCESS = 0x80000000,
  EPERM = 0x50001,
  ENOSYS = 0x50026;
const x86 = process.arch === 'x64';

/** Runs a seccomp classic-BPF program on a struct seccomp_data; returns the action and instructions executed. */
function runBpf(bpf: Buffer, nr: number, args: bigint[] = [], arch = AUDIT_ARCH_X86_64) {
  const data = Buffer.alloc(64);
  data.writeInt32LE(nr, 0);
  data.writeUInt32LE(arch, 4);
  args.forEach((a, i) => data.writeBigUInt64LE(BigInt.asUintN(64, a), 16 + 8 * i));
  let A = 0,
    X = 0,
    pc = 0,
    steps = 0;
  const mem = new Uint32Array(16);
  for (;;) {
    if (++steps > BPF_MAXINSNS) throw new Error('bpf: runaway');
    const off = pc * 8;
    const code = bpf.readUInt16LE(off),
      jt = bpf.readUInt8(off + 2),
      jf = bpf.readUInt8(off + 3),
      k = bpf.readUInt32LE(off + 4);
    pc++;
    switch (code) {
      case 0x20:
        A = data.readUInt32LE(k);
        break; // ld [k]
      case 0x00:
        A = k;
        break; // ld #k
      case 0x01:
        X = k;
        break; // ldx #k
      case 0x60:
        A = mem[k]!;
        break; // ld M[k]
      case 0x02:
        mem[k] = A;
        break; // st M[k]
      case 0x54:
        A = (A & k) >>> 0;
        break; // and #k
      case 0x05:
        pc += k;
        break; // ja
      case 0x15:
        pc += A === k ? jt : jf;
        break; // jeq #k
      case 0x25:
        pc += A > k ? jt : jf;
        break; // jgt #k
      case 0x35:
        pc += A >= k ? jt : jf;
        break; // jge #k
      case 0x45:
        pc += (A & k) !== 0 ? jt : jf;
        break; // jset #k
      case 0x06:
        return { action: k >>> 0, steps }; // ret #k
      case 0x16:
        return { action: A >>> 0, steps }; // ret a
      default:
        throw new Error(`bpf: opcode 0x${code.toString(16)} not handled at ${pc - 1} (X=${X})`);
    }
  }
}

const compiled = compileSeccompFilterDetailed(BOX_SECCOMP_POLICY);
const nr = (name: string) => {
  const n = resolveSyscall(name);
  assert.notEqual(n, null, `${name} resolves`);
  return n!;
};
const act = (name: string, args: bigint[] = []) => runBpf(compiled.bpf, nr(name), args).action;

test('filter compiles to a whole, non-trivial sock_filter array', () => {
  const { bpf, instructions } = compiled;
  assert.equal(bpf.length % 8, 0);
  assert.equal(instructions, bpf.length / 8);
  assert.ok(instructions > 60 && instructions <= BPF_MAXINSNS, `${instructions} instructions`);
  const empty = compileSeccompFilterDetailed({ ...BOX_SECCOMP_POLICY, rules: [] });
  assert.ok(empty.instructions < 16, `empty policy is only the arch check: ${empty.instructions}`);
  // First instruction loads seccomp_data.arch (offset 4).
  assert.equal(bpf.readUInt16LE(0), 0x20);
  assert.equal(bpf.readUInt32LE(4), 4);
  console.log(`filter: ${instructions} insns, ${compiled.rules} rules, ${compiled.compileMs.toFixed(2)} ms cold`);
});

test('every policy syscall resolves on x86_64, except those the policy says are absent', { skip: !x86 && 'x86_64 only' }, () => {
  assert.equal(compiled.arch, 'x86_64');
  const expectedAbsent = BOX_SECCOMP_POLICY.rules.filter((r) => r.absentOn?.x86_64).map((r) => r.syscall);
  assert.deepEqual(
    compiled.skipped.map((s) => s.syscall),
    expectedAbsent,
  );
  for (const s of compiled.skipped) assert.ok(s.reason.length > 10, `reason for ${s.syscall}`);
  for (const r of BOX_SECCOMP_POLICY.rules) {
    if (!r.absentOn?.x86_64) assert.ok((resolveSyscall(r.syscall) ?? -1) >= 0, `${r.syscall} resolves`);
    else assert.equal(resolveSyscall(r.syscall), null, `${r.syscall} really absent`);
  }
});

test('an unknown syscall without a stated reason is an error, not a silent skip', () => {
  const bad = { ...BOX_SECCOMP_POLICY, rules: [{ syscall: 'no_such_call', errno: 'EPERM' as const, why: 'x' }] };
  assert.throws(
    () => compileSeccompFilterDetailed(bad),
    (e: unknown) => e instanceof SandboxError && e.info.stage === 'seccomp' && /no_such_call/.test(e.message),
  );
});

test('unconditional rules refuse with EPERM whatever the arguments', { skip: !x86 && 'x86_64 only' }, () => {
  for (const r of BOX_SECCOMP_POLICY.rules) {
    if (r.when || r.allowOnly || r.absentOn?.x86_64) continue;
    const want = r.errno === 'ENOSYS' ? ENOSYS : EPERM;
    assert.equal(act(r.syscall), want, r.syscall);
    assert.equal(act(r.syscall, [0xffffffffffffffffn, 1n, 2n]), want, r.syscall);
  }
  assert.equal(act('clone3'), ENOSYS);
});

test('other syscalls and other ABIs', { skip: !x86 && 'x86_64 only' }, () => {
  for (const name of ['read', 'write', 'openat', 'execve', 'chroot', 'socket', 'getpid', 'wait4', 'prctl']) {
    assert.equal(act(name), ALLOW, name);
  }
  assert.equal(runBpf(compiled.bpf, 20, [], AUDIT_ARCH_I386).action, KILL_PROCESS, 'i386 ABI killed');
  assert.equal(runBpf(compiled.bpf, 0x40000000 | nr('getpid')).action, KILL_PROCESS, 'x32 ABI killed');
  const steps = Math.max(...[0, 1, 2, 3, 9, 39, 59, 202, 231, 257, 435].map((n) => runBpf(compiled.bpf, n).steps));
  assert.ok(steps < 20, `allowed syscalls take ${steps} instructions (binary tree)`);
  console.log(`allowed syscall path: <= ${steps} instructions`);
});

test('clone: namespace flags refused, fork and threads allowed', { skip: !x86 && 'x86_64 only' }, () => {
  const SIGCHLD = 17n;
  const THREAD = 0x3d0f00n; // glibc pthread_create: VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID
  assert.equal(act('clone', [SIGCHLD]), ALLOW);
  assert.equal(act('clone', [THREAD]), ALLOW);
  assert.equal(act('clone', [0x01200000n | SIGCHLD]), ALLOW, 'glibc fork flags');
  for (const [name, flag] of Object.entries(CLONE_NEW)) {
    assert.equal(act('clone', [flag | SIGCHLD]), EPERM, name);
    assert.equal(act('clone', [flag | THREAD]), EPERM, name);
  }
  assert.equal(act('clone', [0x7e020000n | SIGCHLD]), EPERM, 'all of them');
});

test('ioctl: TIOCSTI/TIOCLINUX refused on the low 32 bits only (CVE-2019-10063)', { skip: !x86 && 'x86_64 only' }, () => {
  for (const req of [0x5412n, 0x100005412n, 0xffffffff00005412n, 0x541cn, 0x80000000541cn]) {
    assert.equal(act('ioctl', [0n, req]), EPERM, `0x${req.toString(16)}`);
  }
  for (const req of [0x5401n, 0x5413n, 0x5411n, 0x15412n, 0n]) {
    assert.equal(act('ioctl', [0n, req]), ALLOW, `0x${req.toString(16)}`);
  }
  assert.equal(act('ioctl', [0x5412n, 0x5401n]), ALLOW, 'TIOCSTI value in the fd argument does not matter');
});

test('personality: only 0, 8 and 0xffffffff pass, checked on the compiled program', { skip: !x86 && 'x86_64 only' }, () => {
  const ok = new Set([0n, 8n, 0xffffffffn]);
  const values: bigint[] = [];
  for (let v = 0n; v < 70000n; v++) values.push(v);
  for (let v = 0xfffe0000n; v <= 0x100010000n; v++) values.push(v);
  for (let b = 0n; b < 64n; b++) values.push(1n << b, (1n << b) - 1n, (1n << b) + 8n, (1n << b) | 0xffffffffn);
  values.push(0x0040000n, 0x0400000n, 0x20000n, 0x20008n, 0xffffffffffffffffn);
  const bpfNr = nr('personality');
  for (const v of values) {
    const want = ok.has(v) ? ALLOW : EPERM;
    const got = runBpf(compiled.bpf, bpfNr, [v]).action;
    if (got !== want) assert.fail(`personality(0x${v.toString(16)}): got 0x${got.toString(16)}`);
  }
});

/** Meaning of one ArgCmp on a value, as libseccomp defines it. */
function matches(c: ArgCmp, v: bigint): boolean {
  switch (c.op) {
    case 'eq':
      return v === c.value;
    case 'ne':
      return v !== c.value;
    case 'lt':
      return v < c.value;
    case 'le':
      return v <= c.value;
    case 'gt':
      return v > c.value;
    case 'ge':
      return v >= c.value;
    case 'masked_eq':
      return (v & c.mask!) === c.value;
  }
}

test('denyAllExcept covers exactly the complement', () => {
  let seed = 12345;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const sets: bigint[][] = [[0n], [5n], [0n, 8n, 0xffffffffn], [0xffffffffffffffffn], [1n, 2n, 3n, 1000n]];
  for (let i = 0; i < 40; i++) sets.push(Array.from({ length: 1 + rnd(5) }, () => BigInt(rnd(3000))));
  for (const allowed of sets) {
    const cmps = denyAllExcept(0, allowed);
    const ok = new Set(allowed);
    const probe = [...Array(3100).keys()].map(BigInt).concat([0xffffffffn, 1n << 40n, 0xffffffffffffffffn]);
    for (const v of probe) {
      const denied = cmps.some((c) => matches(c, v));
      if (denied === ok.has(v)) assert.fail(`allowed=[${allowed}] v=${v}: denied=${denied}`);
    }
  }
  assert.equal(denyAllExcept(0, [0n, 8n, 0xffffffffn]).length, 65);
  assert.throws(() => denyAllExcept(0, []), RangeError);
});
