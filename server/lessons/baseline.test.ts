// A step's check ignores what was there before the step opened (file and answer checks, by ctime); `not:` judges the box as it is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileCheck } from './compose.ts';
import { FakeProbe } from './testing/fake-probe.ts';

async function check(value: Record<string, unknown>, probe: FakeProbe, openedAt?: number) {
  const c = compileCheck(value, { value, lineOf: () => 1 }, 't.md');
  return c.run(probe, await c.init(probe), openedAt === undefined ? undefined : { openedAt });
}

test('answer: a /root/answer left by an earlier step is no answer; one written after the step opened is judged', async () => {
  const p = new FakeProbe();
  p.ns['uts:uname -n'] = 'box-1\n';
  const opened = 10_000;
  p.upper.set('/root/answer', { kind: 'file', data: 'something else\n', ctimeMs: opened - 5000 });
  const left = await check({ answer: 'hostname' }, p, opened);
  assert.deepEqual([left.ok, left.message], [false, 'write your answer into /root/answer (what it holds was written before this step)']);
  assert.match(
    (await check({ answer: 'hostname' }, p)).message,
    /is not it yet/,
    'without a step (unit tests, old callers): judged as before',
  );
  p.upper.set('/root/answer', { kind: 'file', data: 'wrong\n', ctimeMs: opened + 10 });
  assert.match((await check({ answer: 'hostname' }, p, opened)).message, /"wrong" is not it yet/, 'written in the step: judged');
  p.upper.set('/root/answer', { kind: 'file', data: 'box-1\n', ctimeMs: opened + 20 });
  assert.equal((await check({ answer: 'hostname' }, p, opened)).ok, true);
  // A right answer left from before passes no step either.
  p.upper.set('/root/answer', { kind: 'file', data: 'box-1\n', ctimeMs: opened - 1 });
  assert.equal((await check({ answer: 'hostname' }, p, opened)).ok, false);
});

test('file: a leftover does not pass the step; changing it in the step (write, chmod, chown: ctime) does; legacy types too', async () => {
  const p = new FakeProbe();
  const opened = 50_000;
  p.upper.set('/root/hello.txt', { kind: 'file', data: 'hello', ctimeMs: opened - 100 });
  const old = await check({ file: '/root/hello.txt', contains: 'hello' }, p, opened);
  assert.deepEqual([old.ok, old.message], [false, '/root/hello.txt is as it was when this step opened: this step asks you to change it']);
  assert.equal((await check({ type: 'file', path: '/root/hello.txt', state: 'upper-only' }, p, opened)).ok, false);
  p.upper.set('/root/hello.txt', { kind: 'file', data: 'hello', ctimeMs: opened + 1 });
  assert.equal((await check({ file: '/root/hello.txt', contains: 'hello' }, p, opened)).ok, true);
  // In all/any every part sees the step; not: judges the box as it is (a leftover file is there).
  assert.equal((await check({ all: [{ file: '/root/hello.txt' }, { file: '/root/hello.txt', contains: 'hello' }] }, p, opened)).ok, true);
  p.upper.set('/root/hello.txt', { kind: 'file', data: 'hello', ctimeMs: opened - 100 });
  assert.equal((await check({ any: [{ file: '/root/hello.txt' }] }, p, opened)).ok, false);
  assert.equal((await check({ not: { file: '/root/hello.txt' } }, p, opened)).ok, false, 'the file is there: not: fails');
  // A whiteout made before the step is a leftover too.
  p.lower.set('/etc/os-release', { kind: 'file' });
  p.upper.set('/etc/os-release', { kind: 'whiteout', ctimeMs: opened - 1 });
  assert.equal((await check({ file: '/etc/os-release', layer: 'whiteout' }, p, opened)).ok, false);
  p.upper.set('/etc/os-release', { kind: 'whiteout', ctimeMs: opened + 1 });
  assert.equal((await check({ file: '/etc/os-release', layer: 'whiteout' }, p, opened)).ok, true);
});
