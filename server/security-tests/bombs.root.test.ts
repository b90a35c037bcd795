// Resource bombs (fork, memory, disk, cpu), each run only after its limit was read back from the kernel for that very box.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  buildProbeImage,
  cgroupDirOf,
  cgroupView,
  hostResponsiveness,
  readCg,
  SKIP,
  sleep,
  startBox,
  type BoxConfig,
  type LiveBox,
  type ProbeImage,
} from './testing/harness.ts';
import { MiB } from '../protocol/size.ts';

/** resource -> id of the box whose limit a test of this run read back from the kernel. */
const verified = new Map<string, string>();

/** A bomb without a verified limit could take the host down: refuse, and say so loudly. */
function refuseUnverified(t: TestContext, resource: string, live: LiveBox | undefined): boolean {
  if (live && verified.get(resource) === live.id) return false;
  const why = `REFUSING TO RUN THE ${resource.toUpperCase()} BOMB: no test of this run verified the ${resource} limit of box ${live?.id ?? '(none)'} in the kernel`;
  console.error(`\n!!! ${why} !!!\n`);
  t.skip(why);
  return true;
}

/** Each bomb box waits for "go" on stdin, so its limit can be checked before anything heavy runs. */
function bombSuite(
  name: string,
  resource: string,
  config: Omit<BoxConfig, 'baseDir'>,
  bomb: string,
  verify: (live: LiveBox, t: TestContext) => void,
  run: (live: LiveBox, t: TestContext) => Promise<void>,
) {
  describe(name, { skip: SKIP }, () => {
    let img: ProbeImage;
    let live: LiveBox | undefined;
    before(async () => {
      img = await buildProbeImage();
      live = await startBox({
        baseDir: img.image,
        ...config,
        keepStdin: true,
        shell: '/bin/sh',
        args: ['-c', `echo ready; read go; ${bomb}; read x`],
      });
      await live.waitFor(/ready/);
    });
    after(async () => {
      try {
        await live?.close();
      } finally {
        img?.cleanup();
      }
    });
    test(`the ${resource} limit of this box is set in the kernel`, (t) => {
      verify(live!, t);
      verified.set(resource, live!.id);
    });
    test(`${resource} bomb is contained and the host stays responsive`, { timeout: 120_000 }, async (t) => {
      if (refuseUnverified(t, resource, live)) return;
      live!.box.write('go\n');
      await run(live!, t);
      const t0 = performance.now();
      await live!.close(); // fails on any leftover process, mount or cgroup
      t.diagnostic(`teardown after the bomb: ${(performance.now() - t0).toFixed(0)} ms, nothing left`);
    });
  });
}

const ownDir = (live: LiveBox, ctrl: 'memory' | 'pids') => {
  const dir = cgroupDirOf(live.box.pids.init, ctrl);
  assert.equal(path.basename(dir), live.id, `${ctrl} cgroup is the box's own`);
  return dir;
};
// A slow host (the qemu TCG guest, BOXLAB_TEST_TIME_FACTOR) is slow without any bomb: its bounds scale; the limits do not.
const TIME_FACTOR = Math.max(1, Number(process.env.BOXLAB_TEST_TIME_FACTOR) || 1);
const RESPONSIVE = { lagMs: 300 * TIME_FACTOR, spawnMs: 1000 * TIME_FACTOR };
function assertResponsive(t: TestContext, r: { maxLagMs: number; maxSpawnMs: number }) {
  t.diagnostic(`host: worst event-loop lag ${r.maxLagMs.toFixed(0)} ms, slowest spawn of /bin/true ${r.maxSpawnMs.toFixed(0)} ms`);
  assert.ok(r.maxLagMs < RESPONSIVE.lagMs && r.maxSpawnMs < RESPONSIVE.spawnMs, 'host responsive');
}

bombSuite(
  'fork bomb',
  'pids',
  { pids: 64 },
  'b(){ b|b& }; b 2>/dev/null',
  (live) => assert.equal(readCg(ownDir(live, 'pids'), 'pids.max'), '64'),
  async (live, t) => {
    const dir = ownDir(live, 'pids');
    let peak = 0;
    const r = await hostResponsiveness(async () => {
      for (let i = 0; i < 40; i++) {
        peak = Math.max(peak, Number(readCg(dir, 'pids.current')));
        await sleep(100);
      }
    });
    const refused = Number(/max (\d+)/.exec(readCg(dir, 'pids.events'))?.[1]);
    t.diagnostic(`peak pids.current ${peak} of 64; forks refused by pids.max: ${refused}`);
    assert.ok(peak <= 64 && peak >= 32, `the bomb filled the box up to the limit and no further (${peak})`);
    assert.ok(refused > 0, 'the kernel refused forks at the limit');
    assertResponsive(t, r);
  },
);

bombSuite(
  'memory bomb',
  'memory',
  { memoryBytes: 256 * MiB },
  '/probe alloc 8192; echo "alloc-status=$?"',
  (live) => {
    ownDir(live, 'memory');
    const cg = cgroupView(live.box.pids.init);
    assert.equal(cg.memoryMax(), 256 << 20);
    const swap = cg.swapAllowance(); // null without swap accounting; never any swap beyond the limit
    assert.ok(swap === null || swap === 0, `swap allowance ${swap}`);
    assert.equal(cg.oomKillDisable(), 0);
  },
  async (live, t) => {
    ownDir(live, 'memory');
    const cg = cgroupView(live.box.pids.init);
    const r = await hostResponsiveness(() => live.waitFor(/alloc-status=(\d+)/, 60_000));
    const reached = Math.max(0, ...[...live.out.matchAll(/^alloc (\d+)$/gm)].map((m) => Number(m[1])));
    const kills = cg.oomKills();
    const peak = cg.memoryPeak() ?? 0; // null before Linux 5.19 on v2: then "reached" alone bounds it
    t.diagnostic(
      `cgroup v${cg.version}, 8 GiB allocation: reached ${reached} MiB, status ${r.result[1]}, oom_kill ${kills}, peak usage ${(peak / 2 ** 20).toFixed(0)} MiB`,
    );
    assert.equal(r.result[1], '137', 'the allocator was SIGKILLed');
    assert.ok(kills >= 1, 'by the cgroup OOM killer');
    assert.ok(reached < 256 && peak <= 256 << 20, 'never above the limit');
    assertResponsive(t, r);
  },
);

bombSuite(
  'disk bomb',
  'disk',
  { diskBytes: 64 * MiB, shmBytes: 16 * MiB },
  'dd if=/dev/zero of=/root/a bs=1M count=48; dd if=/dev/zero of=/root/b bs=1M count=48; echo "dd=$?"; dd if=/dev/zero of=/dev/shm/f bs=1M count=32; echo "shm=$?"',
  (live) => {
    const rw = path.dirname(live.box.layers.upper);
    const line = fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .find((l) => l.split(' ')[4] === rw);
    assert.match(line ?? '', / - tmpfs \S+ \S*size=65536k/, 'upper tmpfs capped at 64M');
    const st = fs.statfsSync(rw);
    assert.equal(st.blocks * st.bsize, 64 << 20);
    const shm = fs
      .readFileSync(`/proc/${live.box.pids.init}/mountinfo`, 'utf8')
      .split('\n')
      .find((l) => l.split(' ')[4] === '/dev/shm');
    assert.match(shm ?? '', / - tmpfs \S+ \S*size=16384k/, '/dev/shm capped at 16M');
  },
  async (live, t) => {
    const hostFree = fs.statfsSync('/').bavail * fs.statfsSync('/').bsize;
    const r = await hostResponsiveness(() => live.waitFor(/shm=\d+/, 60_000));
    const rw = fs.statfsSync(path.dirname(live.box.layers.upper));
    const hostAfter = fs.statfsSync('/').bavail * fs.statfsSync('/').bsize;
    const enospc = live.out.match(/No space left on device/g)?.length ?? 0;
    t.diagnostic(
      `ENOSPC seen ${enospc}x; upper tmpfs free ${rw.bfree * rw.bsize} B of ${rw.blocks * rw.bsize}; host / free changed by ${((hostFree - hostAfter) / 2 ** 20).toFixed(1)} MiB`,
    );
    assert.match(live.out, /^dd=1$/m, 'second file hit the cap');
    assert.match(live.out, /^shm=1$/m, '/dev/shm hit its cap');
    assert.ok(enospc >= 2, 'both ended in ENOSPC');
    assert.ok(rw.bfree * rw.bsize < 1 << 20, 'the box tmpfs is full');
    assert.ok(Math.abs(hostFree - hostAfter) < 32 << 20, 'the host disk did not fill');
    assertResponsive(t, r);
  },
);

bombSuite(
  'cpu bomb',
  'cpu',
  { cpuFraction: 0.5, pids: 128 },
  '/probe spin 64 8; echo spun',
  (live) => {
    assert.equal(path.basename(cgroupDirOf(live.box.pids.init, 'cpu')), live.id, "cpu cgroup is the box's own");
    assert.deepEqual(cgroupView(live.box.pids.init).cpuQuota(), { quotaUs: 50000, periodUs: 100000 });
  },
  async (live, t) => {
    const cg = cgroupView(live.box.pids.init);
    const r = await hostResponsiveness(async () => {
      await sleep(1500); // 64 loops running
      const u0 = cg.cpuUsageUs();
      const th0 = cg.cpuThrottled();
      const t0 = performance.now();
      await sleep(4000);
      const used = (cg.cpuUsageUs() - u0) / 1e3;
      const throttled = cg.cpuThrottled() - th0;
      return { cores: used / (performance.now() - t0), throttled };
    });
    t.diagnostic(`64 busy loops used ${r.result.cores.toFixed(3)} cores (quota 0.5); throttled ${r.result.throttled} periods in 4 s`);
    assert.ok(r.result.cores <= 0.55, 'within the quota (+10%)');
    assert.ok(r.result.cores >= 0.3, 'the loops really ran (the probe could see a breach)');
    assert.ok(r.result.throttled > 20, 'CFS throttled the box');
    assertResponsive(t, r);
  },
);

bombSuite(
  'inode bomb',
  'inodes',
  { diskBytes: 16 * MiB, shmBytes: 4 * MiB, memoryBytes: 256 * MiB },
  '/probe files /root/flood; /probe files /dev/shm/flood; echo "alive $$"',
  (live) => {
    // config.ts inodeCap: one inode per 4 KiB of the size cap, at least 1024; statfs f_files is nr_inodes.
    const st = fs.statfsSync(path.dirname(live.box.layers.upper));
    assert.equal(st.files, (16 << 20) / 4096, 'upper tmpfs nr_inodes read back with statfs');
    const shm = fs
      .readFileSync(`/proc/${live.box.pids.init}/mountinfo`, 'utf8')
      .split('\n')
      .find((l) => l.split(' ')[4] === '/dev/shm');
    assert.match(shm ?? '', / - tmpfs \S+ \S*nr_inodes=1024\b/, '/dev/shm nr_inodes (floor) read back');
    ownDir(live, 'memory');
    assert.equal(cgroupView(live.box.pids.init).memoryMax(), 256 << 20, 'the memory limit the inodes must fit in');
  },
  async (live, t) => {
    ownDir(live, 'memory');
    const cg = cgroupView(live.box.pids.init); // v1 or v2, found the engine's way
    const before = cg.memoryCurrent();
    const r = await hostResponsiveness(() => live.waitFor(/^alive \d+$/m, 60_000));
    const made = Object.fromEntries(
      [...live.out.matchAll(/^files (\S+) err (\S+) (\d+)$/gm)].map((m) => [m[1], { errno: m[2], n: Number(m[3]) }]),
    );
    const after = cg.memoryCurrent();
    const kills = cg.oomKills();
    const up = fs.statfsSync(path.dirname(live.box.layers.upper));
    const perFile = (after - before) / made['/root/flood'].n;
    t.diagnostic(
      `upper: ${made['/root/flood']?.n} files then ${made['/root/flood']?.errno} (f_ffree ${up.ffree} of ${up.files}); /dev/shm: ${made['/dev/shm/flood']?.n} files then ${made['/dev/shm/flood']?.errno}; memory +${((after - before) / 2 ** 20).toFixed(1)} MiB (${perFile.toFixed(0)} B per file), oom_kill ${kills}`,
    );
    assert.equal(made['/root/flood']?.errno, 'ENOSPC', 'the upper flood ended in ENOSPC');
    assert.ok(made['/root/flood'].n > 3000 && made['/root/flood'].n <= 4096, 'close to the cap, never above');
    assert.equal(up.ffree, 0, 'every inode of the upper tmpfs used');
    assert.equal(made['/dev/shm/flood']?.errno, 'ENOSPC', 'the /dev/shm flood ended in ENOSPC');
    assert.ok(made['/dev/shm/flood'].n > 1000 && made['/dev/shm/flood'].n <= 1024);
    assert.equal(kills, 0, 'no OOM kill');
    assert.match(live.out, /^alive 1$/m, 'the shell (PID 1) is alive after both floods');
    assertResponsive(t, r);
  },
);
