// clone3.ts (section): starting the namespaced parent inside its cgroup v2 (clone3 CLONE_INTO_CGROUP) vs
// posix_spawn followed by the cgroup.procs write (the attach stage), interleaved, on the host's cgroup2 mount.
import fs from 'node:fs';
import path from 'node:path';
import { parseMountinfo } from '../../server/engine/cgroups/detect.ts';
import type { BoxProcess, SpawnRequest } from '../../server/engine/syscalls.ts';
import { fmtMs, markdownTable, summarize } from '../lib/stats.ts';
import type { Section } from './types.ts';

const req = (cgroupDir?: string): SpawnRequest => ({
  root: '/nonexistent',
  hostname: 'bench',
  workdir: '/',
  argv: ['/bin/true'],
  env: [],
  stdio: 'pipe',
  rows: 24,
  cols: 80,
  nsFlags: 0,
  capKeep: 0n,
  disable: 0,
  failAt: -1,
  rlimitNofile: 64,
  rlimitFsize: 1 << 20,
  devOpts: 'size=1k',
  shmOpts: 'size=1k',
  seccompFilter: null,
  cgroupDir,
});

export const clone3Section: Section = {
  name: 'clone3',
  title: 'cgroup v2: clone3(CLONE_INTO_CGROUP) vs posix_spawn + cgroup.procs write',
  async run({ quick, log }) {
    const { realSyscalls } = await import('../../native-bindings/index.ts');
    const mnt = parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8')).find((m) => m.fsType === 'cgroup2' && m.root === '/');
    if (!mnt) throw new Error('no cgroup2 mount on this host');
    const dir = path.join(mnt.mountPoint, `boxlab-bench-clone3-${process.pid}`);
    fs.mkdirSync(dir);
    const controllers = fs.readFileSync(path.join(dir, 'cgroup.controllers'), 'utf8').trim() || '(none)';
    const reap = async (p: BoxProcess) => {
      p.control('X');
      for (let i = 0; !realSyscalls.waitpid(p.pid); i++) {
        if (i === 300) realSyscalls.kill(p.pid, 9);
        await new Promise((r) => setTimeout(r, 2));
      }
      p.close();
      for (const s of Object.values(p.stdio ?? {})) (s as { destroy?: () => void }).destroy?.();
    };
    const n = quick ? 20 : 100;
    // gap 0: back to back; gap 50 ms: the first cgroup.procs write after a quiet spell waits for an RCU grace period
    // (cgroup_threadgroup_rwsem taken for writing, docs/performance.md), which a clone3 placement never takes.
    const runs: Record<string, { spawnOnly: number[]; attach: number[]; attachTotal: number[]; clone: number[]; placed: number }> = {};
    try {
      for (const gap of [0, 50]) {
        const r = (runs[`gap ${gap} ms`] = {
          spawnOnly: [] as number[],
          attach: [] as number[],
          attachTotal: [] as number[],
          clone: [] as number[],
          placed: 0,
        });
        for (let i = 0; i < n + 5; i++) {
          // Interleaved so that load drifts hit both the same way; the first 5 of each are warm-up.
          if (gap) await new Promise((res) => setTimeout(res, gap));
          let t = performance.now();
          const a = realSyscalls.spawnBox(req());
          const t1 = performance.now();
          const fd = fs.openSync(path.join(dir, 'cgroup.procs'), fs.constants.O_WRONLY);
          fs.writeSync(fd, String(a.pid));
          fs.closeSync(fd);
          const t2 = performance.now();
          if (i >= 5) {
            r.spawnOnly.push(t1 - t);
            r.attach.push(t2 - t1);
            r.attachTotal.push(t2 - t);
          }
          await reap(a);
          if (gap) await new Promise((res) => setTimeout(res, gap));
          t = performance.now();
          const b = realSyscalls.spawnBox(req(dir));
          if (i >= 5) r.clone.push(performance.now() - t);
          if (b.cgroupPlaced) r.placed++;
          await reap(b);
        }
        log(`clone3: gap ${gap} ms: ${n} pairs, ${r.placed} placed by clone3`);
      }
    } finally {
      fs.rmdirSync(dir);
    }
    const row = (name: string, xs: number[]) => {
      const s = summarize(xs);
      return [name, fmtMs(s.p50), fmtMs(s.p90), fmtMs(s.p99)];
    };
    const markdown = [
      `cgroup2 at ${mnt.mountPoint}, controllers in the target: ${controllers}; ${n} interleaved pairs per row group; load ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
      '',
      markdownTable(
        ['idle before each', 'variant', 'p50', 'p90', 'p99'],
        Object.entries(runs).flatMap(([gap, r]) => [
          [gap, ...row('posix_spawn (fork1 today)', r.spawnOnly)],
          [gap, ...row('cgroup.procs write (cgroup_attach)', r.attach)],
          [gap, ...row('posix_spawn + attach', r.attachTotal)],
          [gap, ...row(`clone3 CLONE_INTO_CGROUP (${r.placed}/${n + 5} placed)`, r.clone)],
        ]),
      ),
    ].join('\n');
    return { markdown, json: { mount: mnt.mountPoint, controllers, n, runs } };
  },
};
