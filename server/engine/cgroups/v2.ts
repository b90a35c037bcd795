// cgroup v2 writers and readers: memory.max, cpu.max, pids.max, stats, cgroup.kill (the subtree itself: delegate.ts).
import path from 'node:path';
import type { Controller } from './detect.ts';
import type { CgroupIO } from './io.ts';
import { CFS_PERIOD_US, cfsQuotaUs, parseKeyed, parseLimit, type CgroupLimits } from './parse.ts';
import type { CpuStats, MemoryStats } from './v1.ts';

const j = path.posix.join;

/** Writes the v2 limits of the controllers in `ctrls` into the leaf `dir`. */
export async function writeV2Limits(io: CgroupIO, dir: string, ctrls: readonly Controller[], lim: CgroupLimits): Promise<void> {
  if (ctrls.includes('memory')) {
    await io.write(j(dir, 'memory.max'), String(lim.memoryBytes));
    // No swap at all, so swapping out cannot be used to exceed memory.max (exists with swap accounting).
    if (await io.exists(j(dir, 'memory.swap.max'))) await io.write(j(dir, 'memory.swap.max'), '0');
  }
  if (ctrls.includes('cpu')) {
    await io.write(j(dir, 'cpu.max'), `${cfsQuotaUs(lim.cpuFraction)} ${CFS_PERIOD_US}`);
  }
  if (ctrls.includes('pids')) {
    await io.write(j(dir, 'pids.max'), String(lim.pids));
  }
}

export async function v2MemoryStats(io: CgroupIO, dir: string): Promise<MemoryStats> {
  const out: MemoryStats = {
    current: parseLimit(await io.read(j(dir, 'memory.current'))),
    limit: parseLimit(await io.read(j(dir, 'memory.max'))),
    oomKills: parseKeyed(await io.read(j(dir, 'memory.events'))).get('oom_kill') ?? 0,
  };
  const swap = j(dir, 'memory.swap.current');
  if (await io.exists(swap)) out.swapCurrent = parseLimit(await io.read(swap));
  return out;
}

/** cpu.stat is in µs on v2; cpu.max is "quota period" or "max period". */
export async function v2CpuStats(io: CgroupIO, dir: string): Promise<CpuStats> {
  const st = parseKeyed(await io.read(j(dir, 'cpu.stat')));
  const [q, p] = (await io.read(j(dir, 'cpu.max'))).trim().split(/\s+/);
  const quota = q === 'max' ? -1 : Number(q);
  const period = Number(p);
  return {
    usageUsec: st.get('usage_usec') ?? 0,
    quotaFraction: quota > 0 && period > 0 ? quota / period : -1,
    nrThrottled: st.get('nr_throttled') ?? 0,
    throttledUsec: st.get('throttled_usec') ?? 0,
  };
}

/**
 * Kills everything in the v2 cgroup: cgroup.kill (Linux 5.14) SIGKILLs all tasks atomically, including
 * ones forked concurrently. Returns false when the kernel has no cgroup.kill (caller uses the freezer loop).
 */
export async function v2Kill(io: CgroupIO, dir: string): Promise<boolean> {
  const f = j(dir, 'cgroup.kill');
  if (!(await io.exists(f))) return false;
  await io.write(f, '1');
  return true;
}
