// Root tests on real boxes: PID namespace (PID 1, host invisible), UTS hostname, network namespace with only lo, pipe-mode stdin.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname as hostHostname } from 'node:os';
import { after, test } from 'node:test';
import { BoxTracker, runInBox, SKIP_NOT_ROOT, within, testNoLeftovers } from './testing/helpers.ts';

const tracker = new BoxTracker();
after(() => tracker.destroyAll());
const opts = { skip: SKIP_NOT_ROOT, timeout: 60_000 };

test('PID namespace: the shell is PID 1, the box sees only its own few pids, host processes are invisible', opts, async (t) => {
  t.after(() => tracker.destroyAll());
  // The runner's own pid must be large enough that "absent in the box" says something (box pids are 1..~10).
  assert.ok(process.pid > 50, `runner pid ${process.pid} too small for the visibility probe`);
  const script = [
    'echo "pid=$$"',
    'echo "procs=$(ls /proc | grep -E "^[0-9]+$" | tr "\\n" " ")"',
    `if [ -e /proc/${process.pid} ]; then echo host=VISIBLE; else echo host=HIDDEN; fi`,
    // Not the last command: busybox sh -c would exec it in place of PID 1.
    'ps',
    'exit 0',
  ].join('; ');
  let nspid = '';
  const r = await runInBox(
    tracker,
    { shell: '/bin/sh', args: ['-c', `read go; ${script}`] },
    {
      whileRunning: async (box) => {
        // The host's view of PID 1: its NSpid line lists the host pid, then 1 inside the box.
        nspid = readFileSync(`/proc/${box.pids.init}/status`, 'utf8').match(/^NSpid:\s+(.*)$/m)?.[1] ?? '';
        box.write('go\n');
      },
    },
  );
  t.diagnostic(`box output:\n${r.out}`);
  assert.equal(r.err, '');
  assert.deepEqual(r.exit, { code: 0, signal: null, status: 0 });
  assert.match(r.out, /^pid=1$/m);
  assert.deepEqual(nspid.split(/\s+/).map(Number), [r.box.pids.init, 1]);
  assert.notEqual(r.box.pids.init, 1);
  const procs = r.out
    .match(/^procs=(.*)$/m)![1]!
    .trim()
    .split(' ')
    .map(Number);
  assert.ok(procs.includes(1), `PID 1 missing from /proc: ${procs}`);
  assert.ok(procs.length <= 6 && procs.every((p) => p < 50), `the box sees pids ${procs}`);
  assert.match(r.out, /^host=HIDDEN$/m);
  const psLines = r.out.slice(r.out.indexOf('PID')).trim().split('\n').slice(1);
  const psPids = psLines.map((l) => Number(l.trim().split(/\s+/)[0]));
  assert.ok(psPids.length >= 2 && psPids.length <= 4 && psPids.includes(1), `ps shows ${psLines.join(' | ')}`);
  assert.doesNotMatch(r.out, /node|tsx|systemd/, 'a host process shows up in the box');
});

test('UTS namespace: hostname in the box is the configured one, the host keeps its own (pty mode)', opts, async (t) => {
  t.after(() => tracker.destroyAll());
  const name = `iso-${randomBytes(4).toString('hex')}`;
  const before = { os: hostHostname(), proc: readFileSync('/proc/sys/kernel/hostname', 'utf8') };
  assert.notEqual(before.os, name);
  const box = await tracker.create({ hostname: name, stdio: 'pty' });
  let out = '';
  box.on('data', (b) => (out += b.toString()));
  box.write('hostname; cat /proc/sys/kernel/hostname; exit 0\n');
  const exit = await within(box.wait(), 10_000, 'pty shell to exit');
  const lines = out.split(/\r?\n/).map((l) => l.trim());
  t.diagnostic(`pty output: ${JSON.stringify(out)}`);
  assert.deepEqual(exit, { code: 0, signal: null, status: 0 });
  assert.equal(lines.filter((l) => l === name).length, 2, 'hostname(1) and /proc/sys/kernel/hostname both print it');
  assert.equal(hostHostname(), before.os);
  assert.equal(readFileSync('/proc/sys/kernel/hostname', 'utf8'), before.proc);
});

test('network namespace: only lo exists and it is UP', opts, async (t) => {
  t.after(() => tracker.destroyAll());
  const r = await runInBox(tracker, { shell: '/bin/sh', args: ['-c', 'ip link; echo ---; cat /proc/net/dev'] });
  t.diagnostic(r.out);
  assert.deepEqual(r.exit, { code: 0, signal: null, status: 0 });
  const [ipLink, netDev] = r.out.split('---\n') as [string, string];
  const links = [...ipLink.matchAll(/^\d+: ([^:@]+)[^<]*<([^>]*)>/gm)].map((m) => ({ name: m[1], flags: m[2]!.split(',') }));
  assert.deepEqual(
    links.map((l) => l.name),
    ['lo'],
  );
  assert.ok(links[0]!.flags.includes('UP') && links[0]!.flags.includes('LOWER_UP'), `lo flags: ${links[0]!.flags}`);
  const devs = netDev
    .trim()
    .split('\n')
    .slice(2)
    .map((l) => l.split(':')[0]!.trim());
  assert.deepEqual(devs, ['lo']);
  // The host, by contrast, has more than lo (so the box's view is not just this host's).
  const hostDevs = readFileSync('/proc/net/dev', 'utf8')
    .trim()
    .split('\n')
    .slice(2)
    .map((l) => l.split(':')[0]!.trim());
  t.diagnostic(`host interfaces: ${hostDevs.join(' ')}`);
});

test('pipe mode: "hostname" written to stdin of /bin/sh, then endInput(), prints the hostname and exits 0', opts, async (t) => {
  t.after(() => tracker.destroyAll());
  const name = `pipe-${randomBytes(4).toString('hex')}`;
  const box = await tracker.create({ hostname: name, stdio: 'pipe', shell: '/bin/sh', args: [] });
  let out = '';
  let err = '';
  box.on('data', (b) => (out += b.toString()));
  box.on('stderr', (b) => (err += b.toString()));
  box.write('hostname\n');
  box.endInput();
  // sh exits at end of input; if the stdin pipe has another writer left open, EOF never comes.
  const exit = await within(box.wait(), 5_000, `sh to see EOF on stdin after endInput() (out so far ${JSON.stringify(out)})`).finally(() =>
    t.diagnostic(`stdout=${JSON.stringify(out)} stderr=${JSON.stringify(err)}`),
  );
  assert.equal(out, `${name}\n`);
  assert.equal(err, '');
  assert.deepEqual(exit, { code: 0, signal: null, status: 0 });
});

testNoLeftovers(tracker, opts);
