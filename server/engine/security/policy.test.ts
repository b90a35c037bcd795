// Unit tests of the policy data: capability numbers against linux/capability.h, capMask, and rule shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { BOX_CAPS, BOX_CAP_NUMBERS, BOX_SECCOMP_POLICY, CAPS, CLONE_NEW, DROPPED_CAPS, capMask, type CapName } from './policy.ts';

const HEADER = '/usr/include/linux/capability.h';

test('capability numbers match linux/capability.h', { skip: !fs.existsSync(HEADER) && `${HEADER} not installed` }, () => {
  const fromHeader: Record<string, number> = {};
  for (const m of fs.readFileSync(HEADER, 'utf8').matchAll(/^#define CAP_([A-Z_]+)\s+(\d+)\s*$/gm)) {
    fromHeader[m[1]!] = Number(m[2]);
  }
  assert.ok(Object.keys(fromHeader).length >= 38, 'header parsed');
  for (const [name, n] of Object.entries(fromHeader)) assert.equal(CAPS[name as CapName], n, `CAP_${name}`);
  assert.deepEqual(Object.keys(CAPS).sort(), Object.keys(fromHeader).sort(), 'same set of names');
});

test('the running kernel has no capability this table lacks', () => {
  const last = Number(fs.readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
  assert.ok(last <= Math.max(...Object.values(CAPS)), `kernel cap_last_cap=${last}`);
});

test('kept and dropped capabilities partition the whole table', () => {
  const dropped = Object.keys(DROPPED_CAPS);
  for (const c of BOX_CAPS) assert.ok(!dropped.includes(c), `${c} both kept and dropped`);
  assert.deepEqual([...BOX_CAPS, ...dropped].sort(), Object.keys(CAPS).sort());
  for (const must of ['SYS_ADMIN', 'NET_ADMIN', 'SYS_MODULE', 'SYS_PTRACE', 'SYS_TIME', 'SYS_BOOT', 'MKNOD', 'NET_RAW']) {
    assert.ok(dropped.includes(must), `${must} dropped`);
  }
  for (const why of Object.values(DROPPED_CAPS)) assert.ok(why.length > 10);
});

test('capMask', () => {
  assert.equal(capMask([]), 0n);
  assert.equal(capMask(['CHOWN']), 1n);
  assert.equal(capMask(['SETFCAP']), 0x80000000n);
  assert.equal(capMask(['CHECKPOINT_RESTORE']), 1n << 40n);
  assert.equal(capMask([0, 'CHOWN', 1]), 3n, 'names and numbers, duplicates once');
  // Docker's default CapEff is 0xa80425fb; the box drops MKNOD (27) and NET_RAW (13) from it.
  assert.equal(capMask(BOX_CAPS), 0xa80425fbn & ~(1n << 27n) & ~(1n << 13n));
  assert.equal(capMask(BOX_CAPS), 0xa00405fbn);
  assert.equal(capMask(BOX_CAP_NUMBERS), capMask(BOX_CAPS));
  assert.deepEqual(BOX_CAP_NUMBERS, [0, 1, 3, 4, 5, 6, 7, 8, 10, 18, 29, 31]);
  assert.throws(() => capMask(['NOPE' as CapName]), RangeError);
  assert.throws(() => capMask([64]), RangeError);
  assert.throws(() => capMask([-1]), RangeError);
});

test('seccomp policy shape', () => {
  const p = BOX_SECCOMP_POLICY;
  assert.equal(p.defaultAction, 'allow');
  assert.equal(p.badArch, 'kill_process');
  for (const r of p.rules) {
    assert.ok(r.why.length > 5, `${r.syscall} has a reason`);
    assert.ok(!(r.when && r.allowOnly), `${r.syscall}: when or allowOnly, not both`);
  }
  const names = p.rules.map((r) => r.syscall);
  assert.ok(!names.includes('chroot'), 'chroot stays allowed');
  const unconditional = p.rules.filter((r) => !r.when && !r.allowOnly).map((r) => r.syscall);
  assert.equal(new Set(unconditional).size, unconditional.length, 'no duplicate unconditional rule');
  for (const r of p.rules.filter((x) => x.when || x.allowOnly)) {
    assert.ok(!unconditional.includes(r.syscall), `${r.syscall} is both unconditional and conditional`);
  }
  const clone = p.rules.filter((r) => r.syscall === 'clone');
  assert.deepEqual(clone.map((r) => r.when?.mask).sort(), Object.values(CLONE_NEW).sort());
  for (const r of clone) assert.deepEqual([r.when?.op, r.when?.arg, r.when?.value], ['masked_eq', 0, r.when?.mask]);
  for (const r of p.rules.filter((x) => x.syscall === 'ioctl')) {
    assert.equal(r.when?.mask, 0xffffffffn, 'ioctl compares the low 32 bits only (CVE-2019-10063)');
    assert.equal(r.when?.arg, 1);
  }
  assert.deepEqual(p.rules.find((r) => r.syscall === 'clone3')?.errno, 'ENOSYS');
  assert.deepEqual(p.rules.find((r) => r.syscall === 'personality')?.allowOnly?.values, [0n, 8n, 0xffffffffn]);
});
