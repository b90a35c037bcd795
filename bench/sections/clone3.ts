// clone3.ts (section): starting the namespaced parent inside its cgroup v2 (clone3 CLONE_INTO_CGROUP) vs
// posix_spawn followed by the cgroup.procs write (the attach stage), interleaved, on the host's cgroup2 mount.
import fs from 'node:fs';
import path from 'node:path';
import { parseMountinfo } from '../../server/engine/cgroups/detect.ts';
import type { BoxProcess, SpawnRequest } from '../../server/engine/syscalls.ts';
import { fmtMs, markdownTable, summarize } from '../lib/stats.ts';
import type { Section } from './types.ts';

const req = (cgroupDir?: string): SpawnRequest => ({
  root: '/nonexistent', hostname: 'bench', workdir: '/', argv: ['/bin/true'], env: [], stdio: 'pipe', rows: 24, cols: 80,
  nsFlags: 0, capKeep: 0n, disable: 0, failAt: -1, rlimitNofile: 64, rlimitFsize: 1 << 20,
  devOpts: 'size=1k', shmOpts: 'size=1k', seccompFilter: null, cgroupDir,
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
    const n = quick ? 30 : 150;
    const spawnOnly: number[] = [];
    const attach: number[] = [];
    const attachTotal: number[] = [];
    const clone: number[] = [];
    let placed = 0;
    try {
      for (let i = 0; i < n + 5; i++) {
        // Interleaved so that load drifts hit both the same way; the first 5 of each are warm-up.
        let t = performance.now();
        const a = realSyscalls.spawnBox(req());
        const t1 = performance.now();
        const fd = fs.openSync(path.join(dir, 'cgroup.procs'), fs.constants.O_WRONLY);
        fs.writeSync(fd, String(a.pid));
        fs.closeSync(fd);
        const t2 = performance.now();
        if (i >= 5) {
          spawnOnly.push(t1 - t);
          attach.push(t2 - t1);
          attachTotal.push(t2 - t);
        }
        await reap(a);
        t = performance.now();
        const b = realSyscalls.spawnBox(req(dir));
        if (i >= 5) clone.push(performance.now() - t);
        if (b.cgroupPlaced) placed++;
        await reap(b);
      }
    } finally {
      fs.rmdirSync(dir);
    }
    log(`clone3: ${n} pairs, ${placed} placed by clone3`);
    const row = (name: string, xs: number[]) => {
      const s = summarize(xs);
      return [name, fmtMs(s.p50), fmtMs(s.p90), fmtMs(s.p99)];
    };
    const markdown = [
      `cgroup2 at ${mnt.mountPoint}, controllers in the target: ${controllers}; ${n} interleaved pairs; ${placed}/${n + 5} born in the cgroup; load ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
      '',
      markdownTable(['variant', 'p50', 'p90', 'p99'], [
        row('posix_spawn (fork1 today)', spawnOnly),
        row('cgroup.procs write (cgroup_attach)', attach),
        row('posix_spawn + attach', attachTotal),
        row('clone3 CLONE_INTO_CGROUP (fork1, no attach)', clone),
      ]),
    ].join('\n');
    return { markdown, json: { mount: mnt.mountPoint, controllers, n, placed, spawnOnly, attach, attachTotal, clone } };
  },
};
