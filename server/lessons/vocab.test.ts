// The check vocabulary: words with parameters, all/any/not, errors with file:line, and the rule that a check reads
// no file of the box except the ones it names (so writing or printing anything else can never turn it green).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeProbe, run } from './testing/fake-probe.ts';
import { compileCheck } from './compose.ts';
import { DEFAULT_LESSONS_DIR } from './loader.ts';
import { loadPack } from './pack.ts';
import { parseYaml } from './yaml.ts';
import { fileURLToPath } from 'node:url';

const compile = (text: string, first = 10) => {
  const y = parseYaml(text, 'l.md', first);
  return compileCheck(y.value, y, 'l.md');
};

test('file + process composed with all: both must hold; the first failure is the message', async () => {
  const p = new FakeProbe();
  const check = { all: [{ file: '/root/x', layer: 'new', contains: 'hi' }, { process: 'sleep 9' }] };
  let r = (await run(null, p, check)).r;
  assert.equal(r.ok, false);
  assert.match(r.message, /\/root\/x does not exist/);
  p.upper.set('/root/x', { kind: 'file', data: 'hi there' });
  r = (await run(null, p, check)).r;
  assert.match(r.message, /no "sleep 9" in the box/);
  p.procs.push({ hostPid: 201, boxPid: 4, boxPpid: 1, hostPpid: 100, pgrpHost: 201, name: 'sleep', argv: ['sleep', '9'], state: 'S' });
  r = (await run(null, p, check)).r;
  assert.equal(r.ok, true);
  assert.match(r.message, /PID 4 in the box, 201 on the host/);
  assert.equal((await run(null, p, { any: [{ process: 'nope' }, { file: '/root/x' }] })).r.ok, true);
  assert.equal((await run(null, p, { not: { process: 'sleep 9' } })).r.ok, false);
});

test('answer: the pid of a process on either side of the PID namespace', async () => {
  const p = new FakeProbe();
  p.procs.push({
    hostPid: 31337,
    boxPid: 7,
    boxPpid: 1,
    hostPpid: 100,
    pgrpHost: 31337,
    name: 'sleep',
    argv: ['sleep', '3003'],
    state: 'S',
  });
  p.upper.set('/root/answer', { kind: 'file', data: '7\n' });
  assert.equal((await run(null, p, { answer: 'box-pid-of', arg: 'sleep 3003' })).r.ok, true);
  assert.equal((await run(null, p, { answer: 'host-pid-of', arg: 'sleep 3003' })).r.ok, false);
  p.upper.set('/root/answer', { kind: 'file', data: '31337\n' });
  assert.equal((await run(null, p, { answer: 'host-pid-of', arg: 'sleep 3003' })).r.ok, true);
});

test('namespace: differs from the host, or from another process of the box', async () => {
  const p = new FakeProbe();
  const ns: Record<string, number> = { 'self:uts': 4026531838, '100:uts': 4026532999, '201:uts': 4026532999, '202:uts': 4026533000 };
  Object.assign(p, {
    hostNsInode: (k: string) => ns[`self:${k}`] ?? null,
    procNsInode: (pid: number, k: string) => ns[`${pid}:${k}`] ?? null,
  });
  assert.match((await run(null, p, { namespace: 'uts' })).r.message, /uts:\[4026532999\] in the box, uts:\[4026531838\] on the host/);
  ns['self:uts'] = 4026532999;
  assert.equal((await run(null, p, { namespace: 'uts' })).r.ok, false, 'same inode: shared with the host');
  p.procs.push({ hostPid: 201, boxPid: 4, boxPpid: 1, hostPpid: 100, pgrpHost: 201, name: 'sh', argv: ['sh', '-c', 'x'], state: 'S' });
  assert.equal((await run(null, p, { namespace: 'uts', differsFrom: 'sh -c x' })).r.ok, false);
  p.procs[1]!.hostPid = 202;
  assert.equal((await run(null, p, { namespace: 'uts', differsFrom: 'sh -c x' })).r.ok, true);
});

test('mount, listen, interface and cgroup words', async () => {
  const p = new FakeProbe();
  p.proc.mountinfo = '22 1 0:40 / / rw - overlay overlay rw\n23 22 0:41 / /proc rw - proc proc rw\n';
  assert.equal((await run(null, p, { mount: '/proc', fstype: 'proc' })).r.ok, true);
  assert.match((await run(null, p, { mount: '/proc', fstype: 'tmpfs' })).r.message, /is proc, not tmpfs/);
  assert.match((await run(null, p, { mount: '/mnt' })).r.message, /nothing is mounted on \/mnt/);
  const memo = (await run(null, p, { cgroup: 'memory.current', atLeast: '4M' })).r;
  assert.equal(memo.ok, true, memo.message);
  assert.equal((await run(null, p, { cgroup: 'memory.current', atLeast: '6M' })).r.ok, false);
  assert.equal((await run(null, p, { cgroup: 'pids.current', atMost: 1 })).r.ok, true);
  assert.equal(
    compile('cgroup: memory.oom_kill\nsince: step\natLeast: 1').limit,
    'memory',
    'growth of OOM kills leans on the memory limit',
  );
  assert.equal(compile('cgroup: memory.oom_kill\natLeast: 1').limit, undefined);
});

test('schema errors name the line of the bad key', () => {
  assert.throws(() => compile('file: relative'), /l\.md:10: check file: file must be an absolute path/);
  assert.throws(() => compile('process: x\nbogus: 1'), /l\.md:10: check process: .*bogus/);
  assert.throws(
    () => compile('all:\n  - file: /x\n  - cgroup: pids.current\n    atLeast: lots'),
    /l\.md:13: check cgroup: all\.1\.atLeast/,
  );
  assert.throws(() => compile('file: /x\nprocess: y'), /one vocabulary word per map, found file and process/);
  assert.throws(() => compile('frobnicate: 1'), /no vocabulary word .* known: file/);
  assert.throws(() => compile('type: nope'), /unknown check type "nope"/);
  assert.throws(() => compile('cgroup: pids.current'), /needs atLeast or atMost/);
  assert.throws(() => compile('all: []'), /"all" takes a list of checks/);
  assert.throws(() => compile('a: [1'), /l\.md:1\d: YAML/);
});

/** Every path a check reads from the box's layers is named in the check itself. */
test('every check of the built-in course and the example pack reads only the files it names', async () => {
  const packs = [loadPack(DEFAULT_LESSONS_DIR, true), loadPack(fileURLToPath(new URL('../../examples/lesson-pack', import.meta.url)))];
  let n = 0;
  for (const pack of packs) {
    const text = (f: string) => JSON.stringify(f);
    for (const l of pack.lessons) {
      for (const [i, spec] of l.specs.entries()) {
        const p = new FakeProbe();
        const read: string[] = [];
        for (const m of ['upperStat', 'lowerStat', 'readUpper'] as const) {
          const orig = p[m].bind(p);
          (p as unknown as Record<string, unknown>)[m] = (rel: string) => (read.push(rel), orig(rel));
        }
        p.ns['uts:uname -n'] = 'box\n';
        p.proc.mountinfo = '22 1 0:40 / / rw - overlay overlay rw\n';
        p.proc.status = 'CapEff:\t0\nSeccomp:\t2\n';
        p.proc.cgroup = '';
        const memo = await spec.check.init(p).catch(() => ({}));
        await spec.check.run(p, memo).catch(() => null);
        const source = await import('node:fs').then((fs) => fs.readFileSync(l.file, 'utf8'));
        for (const r of new Set(read))
          assert.ok(source.includes(r), `${l.lesson.slug} step ${i + 1} read ${text(r)}, which its file never names`);
        n++;
      }
    }
  }
  assert.ok(n >= 40, `${n} checks`);
});
