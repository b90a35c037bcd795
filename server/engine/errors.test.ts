// errors.test.ts: the one error currency: SandboxError (stage, box) wraps the failed call, a SyscallError, as its cause.
import assert from 'node:assert/strict';
import { openSync, rmdirSync } from 'node:fs';
import { test } from 'node:test';
import { errnoName, SyscallError } from '../../native-bindings/errors.ts';
import { cgError } from './cgroups/io.ts';
import { StageClock, toSandboxError } from './stages.ts';
import { SandboxError, STAGES } from './types.ts';

test('SyscallError names its errno as errno(3) does; aliases get their first name', () => {
  assert.equal(errnoName(2), 'ENOENT');
  assert.equal(errnoName(11), 'EAGAIN');
  assert.equal(errnoName(95), 'EOPNOTSUPP');
  assert.equal(errnoName(4095), 'E4095');
  const e = new SyscallError('open', 2, '/x', 'no image');
  assert.equal(e.message, 'open /x: ENOENT (no image)');
  assert.deepEqual(
    { syscall: e.syscall, errno: e.errno, code: e.code, path: e.path },
    { syscall: 'open', errno: 2, code: 'ENOENT', path: '/x' },
  );
  assert.ok(e instanceof Error);
});

test('SyscallError.of: errno from the code or the code from the errno; an explicit errno 0 and message are kept', () => {
  const busy = SyscallError.of({ syscall: 'rmdir', code: 'EBUSY', path: '/sys/fs/cgroup/x' });
  assert.equal(busy.errno, 16);
  assert.equal(busy.message, 'rmdir /sys/fs/cgroup/x: EBUSY');
  assert.equal(SyscallError.of({ syscall: 'kill', errno: -3 }).code, 'ESRCH', 'a negative (Node-style) errno is made positive');
  const pipe = SyscallError.of({ syscall: 'read', errno: 0, code: 'EPROTO', message: 'out of turn' });
  assert.deepEqual([pipe.errno, pipe.code, pipe.message], [0, 'EPROTO', 'out of turn']);
  const inner = new Error('x');
  assert.equal(SyscallError.of({ syscall: 'write', code: 'EIO', cause: inner }).cause, inner);
});

test('SandboxError wraps the SyscallError as its cause; errno and code read through; info is the plain wire form', () => {
  const call = new SyscallError('pivot_root', 1, '/merged');
  const err = new SandboxError('pivot_root', call);
  assert.equal(err.cause, call, 'the same object, not a copy');
  assert.equal(err.message, 'pivot_root: pivot_root(/merged) failed: EPERM');
  assert.deepEqual([err.stage, err.errno, err.code, err.name], ['pivot_root', 1, 'EPERM', 'SandboxError']);
  assert.deepEqual(err.info, {
    stage: 'pivot_root',
    syscall: 'pivot_root',
    errno: 1,
    code: 'EPERM',
    path: '/merged',
    message: err.message,
  });
  err.sandboxId = 'bx-0123456789ab';
  assert.equal(err.info.sandboxId, 'bx-0123456789ab');
  assert.deepEqual(JSON.parse(JSON.stringify(err.info)), err.info, 'what a StageEvent carries survives JSON');
  assert.equal('path' in new SandboxError('seccomp', new SyscallError('seccomp_init', 12)).info, false, 'no path key without a path');
});

test('toSandboxError: a Node fs error becomes the cause of a SyscallError cause; a SyscallError is the cause itself', () => {
  let nodeErr: unknown;
  try {
    openSync('/nonexistent-boxlab-errors-test', 'r');
  } catch (e) {
    nodeErr = e;
  }
  const err = toSandboxError('prepare_state', nodeErr);
  assert.ok(err instanceof SandboxError);
  assert.ok(err.cause instanceof SyscallError);
  assert.equal(err.cause.cause, nodeErr, 'the Node error is kept at the end of the chain');
  assert.deepEqual([err.cause.syscall, err.errno, err.code, err.cause.path], ['open', 2, 'ENOENT', '/nonexistent-boxlab-errors-test']);
  assert.equal(err.message, `prepare_state: ${(nodeErr as Error).message}`);
  assert.equal(toSandboxError('exec', err), err, 'a SandboxError passes through');
  const call = new SyscallError('mount', 13, '/proc');
  assert.equal(toSandboxError('mount_proc', call).cause, call);
  const odd = toSandboxError('running', 'not an error');
  assert.deepEqual([odd.code, odd.errno, odd.cause.syscall, odd.message], ['EUNKNOWN', 0, 'unknown', 'running: not an error']);
});

test('cgError keeps its one-liner with the hint and wraps the fs error it was given', () => {
  const dir = '/nonexistent-boxlab-errors-test/bx';
  let fsErr: unknown;
  try {
    rmdirSync(dir);
  } catch (e) {
    fsErr = e;
  }
  const err = cgError('cgroup_remove', fsErr, { syscall: 'rmdir' });
  assert.equal(err.message, `cgroup_remove: rmdir(${dir}) failed: ENOENT (no such cgroup file; is the controller enabled here?)`);
  assert.deepEqual([err.errno, err.code, err.cause.path], [2, 'ENOENT', dir]);
  assert.equal(err.cause.cause, fsErr);
});

test("a failure the inner child reports over the status pipe becomes a SandboxError naming the child's call", () => {
  const clock = new StageClock(() => {});
  const ev = {
    stage: STAGES.indexOf('mount_proc'),
    role: 'inner_child' as const,
    ok: false,
    errno: 16,
    pid: 1,
    value: 0,
    tStart: 0n,
    tEnd: 1n,
    syscall: 'mount',
    detail: '/proc',
  };
  const err = clock.childError(ev);
  assert.equal(err.message, 'mount_proc: mount /proc failed: EBUSY');
  assert.deepEqual([err.stage, err.cause.syscall, err.cause.path, err.code], ['mount_proc', 'mount', '/proc', 'EBUSY']);
  const injected = clock.childError({ ...ev, syscall: 'injected', errno: 1, detail: 'fault injected by test' });
  assert.equal(injected.message, 'mount_proc: fault injected by test');
  assert.equal(injected.cause.path, undefined);
});
