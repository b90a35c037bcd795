// A version-agnostic read-only view of any process's cgroups, found by the engine's own detection (tests, x-ray).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { detectLayout, unifiedMount, type Controller } from './detect.ts';
import { parseKeyed, parseLimit, pidsRefusedOf } from './parse.ts';

export interface CgroupView {
  /** 2 when memory, cpu and pids are on cgroup2. */
  version: 1 | 2;
  /** Host directory of the process's cgroup for a controller. */
  dir(c: Controller): string;
  /** memory.max (v2) / memory.limit_in_bytes (v1), bytes; -1 = unlimited. */
  memoryMax(): number;
  /** Memory charged now, bytes: v2 memory.current, v1 memory.usage_in_bytes. */
  memoryCurrent(): number;
  /** Swap allowed beyond memoryMax: v2 memory.swap.max, v1 memsw.limit - limit; null when swap is not accounted. */
  swapAllowance(): number | null;
  /** v1 oom_kill_disable (0 = the OOM killer acts); v2 has no such switch: always 0. */
  oomKillDisable(): number;
  /** OOM kills in the cgroup: v2 memory.events oom_kill, v1 memory.oom_control oom_kill (Linux 4.13+). */
  oomKills(): number;
  /** Peak memory usage: v2 memory.peak (Linux 5.19+), v1 max_usage_in_bytes; null when the kernel has none. */
  memoryPeak(): number | null;
  /** CFS quota and period in µs (quota -1 = unlimited). */
  cpuQuota(): { quotaUs: number; periodUs: number };
  /** CPU time used, µs: v2 cpu.stat usage_usec, v1 cpuacct.usage (ns). */
  cpuUsageUs(): number;
  /** CFS periods throttled (cpu.stat nr_throttled on both). */
  cpuThrottled(): number;
  pidsMax(): number;
  pidsCurrent(): number;
  /** Forks refused at pids.max (pids.events "max N"). */
  pidsRefused(): number;
}

const read = (dir: string, f: string) => readFileSync(path.join(dir, f), 'utf8').trim();

/** The cgroups of `pid` as the host sees them, through the same mountinfo and /proc parsing the engine uses. */
export function cgroupView(pid: number, fsRoot = '/'): CgroupView {
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  const selfCgroup = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  const uni = unifiedMount(mountinfo, selfCgroup);
  const unifiedControllers = uni ? readFileSync(path.join(fsRoot, uni.mountPoint, 'cgroup.controllers'), 'utf8') : undefined;
  const layout = detectLayout({ mountinfo, selfCgroup, unifiedControllers });
  const dir = (c: Controller) => {
    const p = layout.controllers[c];
    if (!p) throw new Error(`pid ${pid} has no ${c} cgroup (layout: ${JSON.stringify(layout.controllers)})`);
    return path.join(fsRoot, p.ownDir);
  };
  const v = (c: Controller) => layout.controllers[c]!.version;
  const mem = () => dir('memory');
  return {
    version: (['memory', 'cpu', 'pids'] as const).every((c) => v(c) === 2) ? 2 : 1,
    dir,
    memoryMax: () => parseLimit(read(mem(), v('memory') === 2 ? 'memory.max' : 'memory.limit_in_bytes')),
    memoryCurrent: () => Number(read(mem(), v('memory') === 2 ? 'memory.current' : 'memory.usage_in_bytes')),
    swapAllowance() {
      if (v('memory') === 2) return existsSync(path.join(mem(), 'memory.swap.max')) ? parseLimit(read(mem(), 'memory.swap.max')) : null;
      if (!existsSync(path.join(mem(), 'memory.memsw.limit_in_bytes'))) return null;
      return parseLimit(read(mem(), 'memory.memsw.limit_in_bytes')) - parseLimit(read(mem(), 'memory.limit_in_bytes'));
    },
    oomKillDisable: () => (v('memory') === 2 ? 0 : (parseKeyed(read(mem(), 'memory.oom_control')).get('oom_kill_disable') ?? 0)),
    oomKills: () => parseKeyed(read(mem(), v('memory') === 2 ? 'memory.events' : 'memory.oom_control')).get('oom_kill') ?? 0,
    memoryPeak() {
      const f = v('memory') === 2 ? 'memory.peak' : 'memory.max_usage_in_bytes';
      return existsSync(path.join(mem(), f)) ? parseLimit(read(mem(), f)) : null;
    },
    cpuQuota() {
      if (v('cpu') === 2) {
        const [q, p] = read(dir('cpu'), 'cpu.max').split(/\s+/);
        return { quotaUs: q === 'max' ? -1 : Number(q), periodUs: Number(p) };
      }
      return { quotaUs: Number(read(dir('cpu'), 'cpu.cfs_quota_us')), periodUs: Number(read(dir('cpu'), 'cpu.cfs_period_us')) };
    },
    cpuUsageUs: () =>
      v('cpu') === 2
        ? (parseKeyed(read(dir('cpu'), 'cpu.stat')).get('usage_usec') ?? 0)
        : Number(read(dir('cpuacct'), 'cpuacct.usage')) / 1000,
    cpuThrottled: () => parseKeyed(read(dir('cpu'), 'cpu.stat')).get('nr_throttled') ?? 0,
    pidsMax: () => parseLimit(read(dir('pids'), 'pids.max')),
    pidsCurrent: () => parseLimit(read(dir('pids'), 'pids.current')),
    pidsRefused: () => pidsRefusedOf(read(dir('pids'), 'pids.events')),
  };
}
