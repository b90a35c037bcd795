// cgroup v1 writers and readers: memory/memsw limits, CFS quota, pids.max, cpuacct usage, freezer.
import path from 'node:path';
import type { Controller } from './detect.ts';
import { readOptional, type CgroupIO } from './io.ts';
import { CFS_PERIOD_US, cfsQuotaUs, parseKeyed, parseLimit, pidsRefusedOf, type CgroupLimits } from './parse.ts';

const j = path.posix.join;

/** Writes the limits of the controllers mounted at `dir` (several when co-mounted, e.g. "cpu,cpuacct"). */
export async function writeV1Limits(io: CgroupIO, dir: string, ctrls: readonly Controller[], lim: CgroupLimits): Promise<void> {
  if (ctrls.includes('memory')) {
    // A v1 child copies oom_kill_disable from its parent (mem_cgroup_css_alloc); with it set, a box at
    // its limit would hang in the OOM wait instead of being OOM-killed, so force the killer on.
    await io.write(j(dir, 'memory.oom_control'), '0');
    // limit_in_bytes first: the kernel requires memsw >= limit (memory.txt 2.5, EINVAL otherwise).
    await io.write(j(dir, 'memory.limit_in_bytes'), String(lim.memoryBytes));
    // memory+swap capped at the same value, so swapping out cannot be used to exceed the RAM limit.
    // The file exists only with swap accounting (CONFIG_MEMCG_SWAP / swapaccount=1).
    if (await io.exists(j(dir, 'memory.memsw.limit_in_bytes'))) {
      await io.write(j(dir, 'memory.memsw.limit_in_bytes'), String(lim.memoryBytes));
    }
  }
  if (ctrls.includes('cpu')) {
    // Period before quota: the kernel validates quota against the current period (sched-bwc.rst).
    await io.write(j(dir, 'cpu.cfs_period_us'), String(CFS_PERIOD_US));
    await io.write(j(dir, 'cpu.cfs_quota_us'), String(cfsQuotaUs(lim.cpuFraction)));
  }
  if (ctrls.includes('pids')) {
    await io.write(j(dir, 'pids.max'), String(lim.pids));
  }
}

export interface MemoryStats {
  current: number;
  limit: number;
  oomKills: number;
  swapCurrent?: number;
}

export async function v1MemoryStats(io: CgroupIO, dir: string): Promise<MemoryStats> {
  const current = parseLimit(await io.read(j(dir, 'memory.usage_in_bytes')));
  const limit = parseLimit(await io.read(j(dir, 'memory.limit_in_bytes')));
  // "oom_kill N" was added to memory.oom_control in Linux 4.13.
  const oomKills = parseKeyed(await io.read(j(dir, 'memory.oom_control'))).get('oom_kill') ?? 0;
  const out: MemoryStats = { current, limit, oomKills };
  const memsw = j(dir, 'memory.memsw.usage_in_bytes');
  if (await io.exists(memsw)) out.swapCurrent = Math.max(0, parseLimit(await io.read(memsw)) - current);
  return out;
}

export interface CpuStats {
  usageUsec: number;
  quotaFraction: number;
  nrThrottled: number;
  throttledUsec: number;
}

/** cpuacct.usage and throttled_time are in ns; SandboxStats reports µs like cgroup v2. */
export async function v1CpuStats(io: CgroupIO, cpuDir: string, cpuacctDir: string): Promise<CpuStats> {
  const usageNs = Number((await io.read(j(cpuacctDir, 'cpuacct.usage'))).trim());
  const st = parseKeyed(await io.read(j(cpuDir, 'cpu.stat')));
  const quota = Number((await io.read(j(cpuDir, 'cpu.cfs_quota_us'))).trim());
  const period = Number((await io.read(j(cpuDir, 'cpu.cfs_period_us'))).trim());
  return {
    usageUsec: Math.floor(usageNs / 1000),
    quotaFraction: quota > 0 && period > 0 ? quota / period : -1,
    nrThrottled: st.get('nr_throttled') ?? 0,
    throttledUsec: Math.floor((st.get('throttled_time') ?? 0) / 1000),
  };
}

/** pids.current / pids.max read the same on v1 and v2 ("max" = unlimited reads as -1). */
export async function pidsStats(io: CgroupIO, dir: string): Promise<{ current: number; max: number; refused: number }> {
  const events = await readOptional(io, j(dir, 'pids.events')); // Linux 4.8; same file on v1 and v2
  return {
    current: parseLimit(await io.read(j(dir, 'pids.current'))),
    max: parseLimit(await io.read(j(dir, 'pids.max'))),
    refused: events === null ? 0 : pidsRefusedOf(events),
  };
}

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

/**
 * Freezes the v1 freezer cgroup and waits (bounded) for FROZEN. A frozen task cannot fork or exit,
 * so the pids in cgroup.procs stay valid while we signal them (no fork race, no pid reuse).
 * Returns false when the state stayed FREEZING (e.g. a task in uninterruptible sleep).
 */
export async function v1Freeze(io: CgroupIO, dir: string, clock: Clock, timeoutMs = 1000): Promise<boolean> {
  const file = j(dir, 'freezer.state');
  await io.write(file, 'FROZEN');
  const deadline = clock.now() + timeoutMs;
  for (;;) {
    if ((await io.read(file)).trim() === 'FROZEN') return true;
    if (clock.now() >= deadline) return false;
    await clock.sleep(5);
  }
}

/** Thaws: queued SIGKILLs are delivered as the tasks leave the refrigerator. */
export async function v1Thaw(io: CgroupIO, dir: string): Promise<void> {
  await io.write(j(dir, 'freezer.state'), 'THAWED');
}
