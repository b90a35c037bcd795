// Root test on the host's real cgroup hierarchy (v1, hybrid or v2): limits land in the kernel, are enforced, and everything is removed.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { createCgroups, resolveLayout, sweepCgroups, v2Base, type CgroupSet } from './index.ts';
import { cgroupView } from './view.ts';

const isRoot = process.getuid?.() === 0;
/** See tests/helpers.ts: slow hosts (qemu TCG) scale timeouts and relax lower bounds of CPU use. */
const TIME_FACTOR = Math.max(1, Number(process.env.BOXLAB_TEST_TIME_FACTOR) || 1);
const PREFIX = `cgtest-${process.pid}-`;
const read = async (dir: string, f: string) => (await fsp.readFile(path.join(dir, f), 'utf8')).trim();
const exited = (c: ChildProcess) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => {
    if (c.exitCode !== null || c.signalCode !== null) r({ code: c.exitCode, signal: c.signalCode });
    else c.once('exit', (code, signal) => r({ code, signal }));
  });
const sleepMs = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Resolves null after ms without keeping the process alive once the race is won. */
const timeout = (ms: number) => new Promise<null>((r) => setTimeout(() => r(null), ms).unref());

test('real cgroups: 64M / 0.25 CPU / 20 pids, attach, stats, enforcement, killAll, remove', {
  skip: !isRoot && 'needs root',
}, async (t) => {
  const children: ChildProcess[] = [];
  let set: CgroupSet | undefined;
  t.after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await set?.killAll().catch(() => {});
    await set?.remove().catch(() => {});
    await sweepCgroups({ filter: (id) => id.startsWith(PREFIX) });
  });

  set = await createCgroups(`${PREFIX}a`, { memoryBytes: 64 * 2 ** 20, cpuFraction: 0.25, pids: 20 });
  const p = set.paths;
  // Where the engine's own detection says the box goes: v1 <own>/boxlab/<id>, v2 Boxlab's subtree (README "Supported hosts").
  const layout = await resolveLayout();
  const base = await v2Base();
  for (const c of ['memory', 'cpu', 'pids'] as const) {
    const pl = layout.controllers[c]!;
    const want = pl.version === 2 ? path.posix.join(base!.boxesDir, `${PREFIX}a`) : path.posix.join(pl.ownDir, 'boxlab', `${PREFIX}a`);
    assert.equal(p[c], want, c);
  }
  t.diagnostic(`cgroup v${set.version}${base ? `, subtree: ${base.how}` : ''}: ${p.memory}`);

  // A sleep and a CPU hog join the box.
  const sleeper = spawn('sleep', ['1000'], { stdio: 'ignore' });
  const hog = spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' });
  children.push(sleeper, hog);
  await set.addProcess(sleeper.pid!);
  await set.addProcess(hog.pid!);
  assert.deepEqual(
    await set.procs(),
    [sleeper.pid!, hog.pid!].sort((a, b) => a - b),
  );
  // The kernel's view of the sleeper (its /proc/<pid>/cgroup) agrees, and the limits are in the kernel's files.
  const cg = cgroupView(sleeper.pid!);
  assert.equal(cg.version, set.version);
  for (const c of ['memory', 'cpu', 'pids'] as const) assert.equal(cg.dir(c), p[c], c);
  assert.equal(cg.memoryMax(), 67108864);
  assert.ok([null, 0].includes(cg.swapAllowance()), `swap allowance ${cg.swapAllowance()}`);
  assert.equal(cg.oomKillDisable(), 0);
  assert.deepEqual(cg.cpuQuota(), { quotaUs: 25000, periodUs: 100000 });
  assert.equal(cg.pidsMax(), 20);
  if (p.freezer) assert.equal(await read(p.freezer, 'freezer.state'), 'THAWED');
  const t0 = performance.now();
  await sleepMs(1000);
  let st = await set.stats();
  // On a loaded machine the hog may get less than its 25 ms per period for a while and so is seldom throttled:
  // watch longer (up to 10 s) until CFS has throttled it a few times; the limit itself is never relaxed.
  for (let i = 0; st.cpu.nrThrottled < 5 && i < 18 * TIME_FACTOR; i++) {
    await sleepMs(500);
    st = await set.stats();
  }
  const wallUs = (performance.now() - t0) * 1000;
  t.diagnostic(`stats after ${Math.round(wallUs / 1000)} ms: ${JSON.stringify(st)}`);
  assert.equal(st.cgroupVersion, set.version);
  assert.equal(st.memory.limit, 67108864);
  assert.equal(st.pids.current, 2);
  assert.equal(st.pids.max, 20);
  assert.equal(st.cpu.quotaFraction, 0.25);
  // The hog wants a whole core; CFS gives it 25 ms per 100 ms period, so usage ~ wall/4 and it gets throttled.
  // A lower bound only on a machine that gave the hog its share at once (no longer watch): the limit is the upper one.
  assert.ok(
    st.cpu.usageUsec > (TIME_FACTOR > 1 || wallUs > 1.5e6 ? 0.02 : 0.15) * wallUs && st.cpu.usageUsec < 0.4 * wallUs,
    `usage ${st.cpu.usageUsec} µs of ${wallUs}`,
  );
  assert.ok(st.cpu.nrThrottled >= 5, `throttled ${st.cpu.nrThrottled} times`);
  assert.ok(st.cpu.throttledUsec > 0);

  // killAll: both die by SIGKILL and the box is empty.
  let tk = performance.now();
  await set.killAll();
  t.diagnostic(`killAll of 2 tasks took ${(performance.now() - tk).toFixed(1)} ms`);
  assert.deepEqual(await exited(sleeper), { code: null, signal: 'SIGKILL' });
  assert.deepEqual(await exited(hog), { code: null, signal: 'SIGKILL' });
  assert.deepEqual(await set.procs(), []);

  // pids.max: a fork bomb of 40 sleeps stops at 20 tasks in the box.
  const bomb = spawn('sh', ['-c', 'sleep 0.2; for i in $(seq 40); do sleep 30 & done; sleep 30'], { stdio: 'ignore' });
  children.push(bomb);
  await set.addProcess(bomb.pid!);
  // Until a fork is refused (slow hosts, e.g. a TCG guest, need seconds to start 40 sleeps), bounded.
  let pidsEvents = 'n/a';
  for (const until = performance.now() + 15_000; performance.now() < until; await sleepMs(100)) {
    pidsEvents = await read(p.pids!, 'pids.events').catch(() => 'n/a'); // same file on v1 and v2
    if (/^max [1-9]/.test(pidsEvents)) break;
  }
  await sleepMs(200);
  const pidsNow = (await set.stats()).pids.current;
  t.diagnostic(`pids.current with a 40-sleep bomb: ${pidsNow}; pids.events: ${pidsEvents}`);
  // 20 tasks at most; dash exits when fork fails, so 19 is common. pids.events counts refused forks.
  assert.ok(pidsNow <= 20 && pidsNow >= 18, `pids.current ${pidsNow}`);
  assert.match(pidsEvents, /^max [1-9]\d*$/);
  tk = performance.now();
  await set.killAll();
  t.diagnostic(`killAll of ${pidsNow} tasks took ${(performance.now() - tk).toFixed(1)} ms`);
  assert.deepEqual(await set.procs(), []);

  // memory: a process that fills 1 MiB buffers once inside is OOM-killed at 64M (memsw stops swap escapes).
  // It boots outside the box (node's own ~40M would count otherwise), says "ready", joins, then eats.
  const eater = spawn(
    process.execPath,
    ['-e', 'process.stdout.write("ready\\n");process.stdin.once("data",()=>{const a=[];for(;;)a.push(Buffer.alloc(1<<20,1))})'],
    { stdio: ['pipe', 'pipe', 'ignore'] },
  );
  children.push(eater);
  await new Promise((r) => eater.stdout!.once('data', r));
  await set.addProcess(eater.pid!);
  eater.stdin!.write('go\n');
  const eaten = await Promise.race([exited(eater), timeout(10000 * TIME_FACTOR)]);
  const afterOom = await set.stats();
  const maxUsage = cg.memoryPeak(); // v1 max_usage_in_bytes, v2 memory.peak (null before Linux 5.19)
  t.diagnostic(`eater exit ${JSON.stringify(eaten)}, oomKills ${afterOom.memory.oomKills}, peak ${maxUsage ?? 'n/a'}`);
  assert.deepEqual(eaten, { code: null, signal: 'SIGKILL' });
  if (maxUsage !== null) assert.ok(maxUsage <= 64 * 2 ** 20 && maxUsage > 60 * 2 ** 20, `peak ${maxUsage}`);
  assert.equal(afterOom.memory.oomKills, 1);

  await set.remove();
  for (const d of Object.values(p)) await assert.rejects(fsp.stat(d!), { code: 'ENOENT' }, d);
  await set.remove(); // idempotent
});
