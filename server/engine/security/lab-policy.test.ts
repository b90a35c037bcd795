// Unit tests of lab mode's policy: only the named syscalls are let through, the dangerous list stays refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BOX_SECCOMP_POLICY, CLONE_NEW } from './policy.ts';
import { LAB_ALLOWED, LAB_CAPS, LAB_SECCOMP_POLICY } from './lab-policy.ts';

const denied = (name: string) => LAB_SECCOMP_POLICY.rules.filter((r) => r.syscall === name);

test('lab policy keeps every dangerous syscall refused', () => {
  for (const s of [
    'bpf',
    'keyctl',
    'add_key',
    'request_key',
    'io_uring_setup',
    'io_uring_enter',
    'io_uring_register',
    'perf_event_open',
    'userfaultfd',
    'kexec_load',
    'kexec_file_load',
    'init_module',
    'finit_module',
    'delete_module',
    'open_by_handle_at',
    'ptrace',
    'fsopen',
    'fsconfig',
    'move_mount',
    'open_tree',
    'mount_setattr',
    'syslog',
  ]) {
    assert.ok(denied(s).length > 0 && denied(s).every((r) => !r.when), `${s} must stay refused unconditionally`);
  }
  assert.equal(denied('clone3')[0]?.errno, 'ENOSYS');
});

test('lab policy lets through exactly the namespace and mount calls, time namespaces excepted', () => {
  for (const s of ['mount', 'umount2', 'pivot_root', 'setns']) assert.equal(denied(s).length, 0, s);
  const t = CLONE_NEW.CLONE_NEWTIME;
  for (const s of ['clone', 'unshare']) {
    assert.deepEqual(
      denied(s).map((r) => r.when),
      [{ arg: 0, op: 'masked_eq', mask: t, value: t }],
      s,
    );
  }
  // Every other box rule is carried over unchanged.
  const kept = BOX_SECCOMP_POLICY.rules.filter((r) => !(r.syscall in LAB_ALLOWED));
  for (const r of kept) assert.ok(LAB_SECCOMP_POLICY.rules.includes(r), r.syscall);
});

test('lab caps add SYS_ADMIN and NET_ADMIN, never SYS_RESOURCE or the host-wide ones', () => {
  assert.ok(LAB_CAPS.includes('SYS_ADMIN') && LAB_CAPS.includes('NET_ADMIN'));
  for (const c of ['SYS_RESOURCE', 'SYS_MODULE', 'SYS_RAWIO', 'SYS_PTRACE', 'BPF', 'PERFMON', 'SYS_TIME', 'MKNOD'] as const) {
    assert.ok(!LAB_CAPS.includes(c), c);
  }
});
