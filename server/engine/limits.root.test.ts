// Root tests on real boxes: the memory limit (OOM kill, 137), the CPU quota (about a quarter core) and pids.max (fork bomb) hold.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import {
  BoxTracker,
  cgroupView,
  isBoxCgroup,
  PipeShell,
  readTrim,
  runInBox,
  SKIP_NOT_ROOT,
  sleep,
  TIME_FACTOR,
  testNoLeftovers,
} from './testing/helpers.ts';
import type { Sandbox } from './sandbox.ts';
import { MiB } from '../protocol/size.ts';

const tracker = new BoxTracker();
after(() => tracker.destroyAll());
const opts = { skip: SKIP_NOT_ROOT, timeout: 90_000 * TIME_FACTOR };
const MEM = 64 * 2 ** 20;
/** Allocates ~300 MB of anonymous memory in the shell itself: command substitution keeps the whole output in RAM. */
const HOG = 'x=$(head -c 300000000 /dev/zero | tr "\\0" a); echo survived ${#x}';
let memoryLimitVerified = false;

/** The box's memory cgroup, found through the host's /proc by the engine's detection, with its limit checked against 64M. */
function checkMemoryLimit(box: Sandbox): ReturnType<typeof cgroupView> {
  const cg = cgroupView(box.pids.init);
  const dir = cg.dir('memory');
  assert.ok(isBoxCgroup(dir, box.id), `memory cgroup of PID 1: ${dir}`);
  assert.equal(cg.memoryMax(), MEM);
  // Swap accounting may be off; where it is on, the box may not swap beyond the limit (v1 memsw = limit, v2 swap.max 0).
  const swap = cg.swapAllowance();
  assert.ok(swap === null || swap === 0, `swap allowance ${swap}`);
  assert.equal(cg.oomKillDisable(), 0);
  return cg;
}

test('memory: --memory 64M is really set on the box cgroup (host view of PID 1 cgroup) and stats agree', opts, async (t) => {
  t.after(() => tracker.destroyAll());
  const sh = await PipeShell.open(tracker, { memoryBytes: 64 * MiB });
  const cg = checkMemoryLimit(sh.box);
  // Every process of the box is in it, not just PID 1 (v1: the memory line; v2: the 0:: line).
  const child = await sh.run('sleep 30 & cat /proc/$!/cgroup; kill $!; wait');
  const line = (cg.version === 2 ? /^0::(.*)$/m : /^\d+:[^:]*\bmemory\b[^:]*:(.*)$/m).exec(child.out)?.[1];
  assert.equal(line, '/', `in-box view of the cgroup (cgroup namespace root): ${child.out}`);
  const st = await sh.box.stats();
  assert.equal(st.memory.limit, MEM);
  assert.equal(st.cgroupVersion, cg.version);
  t.diagnostic(`cgroup v${cg.version} ${cg.dir('memory')}: limit ${MEM}, usage ${st.memory.current}`);
  memoryLimitVerified = true;
});

test('memory: a ~300 MB hog in a child of the shell is OOM-killed (137), the box and the host live on', opts, async (t) => {
  if (!memoryLimitVerified) throw new Error('refusing to run the memory hog: the previous test did not verify the limit');
  const hostSleeper = spawn('sleep', [String(60 * TIME_FACTOR)], { stdio: 'ignore' });
  t.after(async () => {
    hostSleeper.kill('SIGKILL');
    await tracker.destroyAll();
  });
  const sh = await PipeShell.open(tracker, { memoryBytes: 64 * MiB });
  const cg = checkMemoryLimit(sh.box);
  const t0 = performance.now();
  const r = await sh.run(`(${HOG})`, 30_000 * TIME_FACTOR);
  const ms = performance.now() - t0;
  assert.equal(r.code, 137, `hog exit ${r.code}, out ${r.out}`);
  assert.doesNotMatch(r.out, /survived/);
  const st = await sh.box.stats();
  const peak = cg.memoryPeak();
  t.diagnostic(
    `cgroup v${cg.version}: hog killed after ${Math.round(ms)} ms; peak usage ${peak ?? 'n/a (no memory.peak before 5.19)'} of ${MEM}; stats ${JSON.stringify(st.memory)}`,
  );
  assert.ok(st.memory.oomKills >= 1, `oomKills ${st.memory.oomKills}`);
  assert.equal(cg.oomKills(), st.memory.oomKills, 'the kernel file and the engine agree');
  if (peak !== null) assert.ok(peak <= MEM && peak > 0.75 * MEM, `peak ${peak}: the hog never reached the limit, or passed it`);
  // PID 1 was not the victim: the shell answers, and a host process started before is still there.
  assert.deepEqual(await sh.run('echo alive'), { out: 'alive\n', code: 0 });
  assert.equal(hostSleeper.exitCode, null);
  assert.equal(hostSleeper.signalCode, null);
});

test('memory: the hog as PID 1 itself is OOM-killed: box exit is signal 9, status 137', opts, async (t) => {
  if (!memoryLimitVerified) throw new Error('refusing to run the memory hog: the limit was not verified');
  t.after(() => tracker.destroyAll());
  // The hog waits for "go" so the limit of this very box is checked before it allocates anything.
  const r = await runInBox(
    tracker,
    { memoryBytes: 64 * MiB, shell: '/bin/sh', args: ['-c', `read go; ${HOG}`] },
    {
      timeoutMs: 30_000 * TIME_FACTOR,
      whileRunning: async (box) => {
        checkMemoryLimit(box);
        box.write('go\n');
      },
    },
  );
  assert.deepEqual(r.exit, { code: null, signal: 9, status: 137 });
  assert.doesNotMatch(r.out, /survived/);
});

/** utime + stime of a process in microseconds (proc(5): fields 14 and 15 of /proc/<pid>/stat, in clock ticks). */
function procCpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
  return ((Number(f[11]) + Number(f[12])) * 1e6) / 100; // USER_HZ is 100 on Linux (sysconf(_SC_CLK_TCK))
}

test('cpu: --cpu-limit 0.25 sets a 25 ms / 100 ms CFS quota and two busy loops get about a quarter core', opts, async (t) => {
  t.after(() => tracker.destroyAll());
  const sh = await PipeShell.open(tracker, { cpuFraction: 0.25 });
  const cg = cgroupView(sh.box.pids.init);
  assert.ok(isBoxCgroup(cg.dir('cpu'), sh.box.id), cg.dir('cpu'));
  assert.deepEqual(cg.cpuQuota(), { quotaUs: 25000, periodUs: 100000 });
  // Two loops could use both cores of this host without the quota.
  await sh.run('while :; do :; done & while :; do :; done & echo started');
  // A busy loop on the host, outside any limit, over the same window: what an unlimited task gets on this machine
  // right now. On a crowded host (load 15 on 2 CPUs) that is ~0.13 core, below the quota, and the box (one group
  // competing like one task) cannot get more than about that either.
  const ref = spawn('/bin/sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' });
  t.after(() => ref.kill('SIGKILL'));
  await sleep(300);
  const r0 = procCpuUs(ref.pid!);
  const s0 = await sh.box.stats();
  const t0 = performance.now();
  await sleep(2000);
  const s1 = await sh.box.stats();
  const r1 = procCpuUs(ref.pid!);
  const wallUs = (performance.now() - t0) * 1000;
  const rate = (s1.cpu.usageUsec - s0.cpu.usageUsec) / wallUs;
  const hostRate = (r1 - r0) / wallUs;
  t.diagnostic(
    `cpu ${rate.toFixed(3)} core-s/s over ${Math.round(wallUs / 1000)} ms; throttled ${s1.cpu.nrThrottled - s0.cpu.nrThrottled} periods; an unlimited host loop got ${hostRate.toFixed(3)}`,
  );
  assert.equal(s1.cpu.quotaFraction, 0.25);
  // Never above the quota; at least a good part of it, or of what an unlimited task got when the host is starved.
  const floor = TIME_FACTOR > 1 ? 0.02 : Math.min(0.15, hostRate / 2);
  assert.ok(rate >= floor && rate <= 0.35, `usage ${rate} core-seconds per second (floor ${floor.toFixed(3)})`);
  assert.ok(s1.cpu.nrThrottled - s0.cpu.nrThrottled >= 10, 'the loops were never throttled');
});

test('pids: pids.max 32 stops a fork bomb; the host can still fork; the box is still killable and leaves nothing', opts, async (t) => {
  t.after(() => tracker.destroyAll());
  const sh = await PipeShell.open(tracker, { pids: 32 });
  const cg = cgroupView(sh.box.pids.init);
  const dir = cg.dir('pids');
  assert.ok(isBoxCgroup(dir, sh.box.id), dir);
  assert.equal(cg.pidsMax(), 32);
  assert.equal((await sh.box.stats()).pids.max, 32);
  // The guard ends the bomb's starter; the bomb's orphans keep forking until the box is destroyed.
  sh.box.write("timeout 3 sh -c 'b(){ b|b& }; b'\n");
  let maxSeen = 0;
  let hostForkMs = 0;
  const tEnd = performance.now() + 2000;
  while (performance.now() < tEnd) {
    maxSeen = Math.max(maxSeen, Number(readTrim(`${dir}/pids.current`)));
    await sleep(20);
  }
  const h0 = performance.now();
  const host = spawnSync('/bin/true');
  hostForkMs = performance.now() - h0;
  const events = readTrim(`${dir}/pids.events`);
  const st = await sh.box.stats();
  t.diagnostic(`pids.current max ${maxSeen}, ${events}, stats ${JSON.stringify(st.pids)}, host fork ${hostForkMs.toFixed(1)} ms`);
  assert.ok(maxSeen <= 32, `pids.current reached ${maxSeen}`);
  // The bomb churns (each process forks two and exits), so sampling may miss the peak; a refused fork is counted
  // in pids.events only when the box is at pids.max, which proves the limit was reached.
  assert.match(events, /^max [1-9]\d*$/, 'no fork was refused');
  // The shell's complaint may still be on its way on a slow host.
  for (const until = performance.now() + 5000 * TIME_FACTOR; !/can't fork/.test(sh.err) && performance.now() < until; ) await sleep(50);
  assert.match(sh.err, /can't fork/);
  assert.equal(host.status, 0);
  const d0 = performance.now();
  await sh.box.destroy();
  const destroyMs = performance.now() - d0;
  t.diagnostic(`destroy during the bomb took ${destroyMs.toFixed(0)} ms`);
  assert.ok(destroyMs < 5000);
  // Includes a scan of all host processes for the box's uid range: no bomb process survived.
  assert.deepEqual(
    tracker.leaks().filter((l) => l.startsWith(`${sh.box.id}:`)),
    [],
  );
});

testNoLeftovers(tracker, opts);
