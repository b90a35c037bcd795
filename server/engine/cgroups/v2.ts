// cgroup v2 writers and readers: subtree_control delegation down to <own>/boxlab, memory.max, cpu.max, pids.max.
import path from 'node:path';
import type { Controller } from './detect.ts';
import { errCode, type CgroupIO } from './io.ts';
import { CFS_PERIOD_US, cfsQuotaUs, parseKeyed, parseLimit, parsePids, type CgroupLimits } from './parse.ts';
import type { CpuStats, MemoryStats } from './v1.ts';

const j = path.posix.join;

/** Leaf the server's own processes move to when <own> must become an inner node (see ensureV2Parent). */
export const SERVER_LEAF = 'server';

/** Cgroups from the mount root down to `leafParent`, top first (both are real paths, root is a prefix). */
export function chainFromRoot(mountDir: string, leafParent: string): string[] {
  const rel = path.posix.relative(mountDir, leafParent);
  if (rel.startsWith('..') || path.posix.isAbsolute(rel)) throw new Error(`${leafParent} is not under ${mountDir}`);
  const out = [mountDir];
  let cur = mountDir;
  for (const part of rel.split('/').filter(Boolean)) out.push((cur = j(cur, part)));
  return out;
}

async function tokens(io: CgroupIO, file: string): Promise<string[]> {
  return (await io.read(file)).trim().split(/\s+/).filter(Boolean);
}

export interface EnsureResult {
  /** Controllers this call enabled, per cgroup (for logs and tests). */
  enabled: Array<{ dir: string; controllers: string[] }>;
  /** Pids moved from <own> into <own>/server. */
  moved: number[];
}

/**
 * Makes `<own>/boxlab` and enables `ctrls` in cgroup.subtree_control of every cgroup from the mount
 * root down to it, top first (a controller can only be enabled where the parent enabled it).
 *
 * cgroup-v2.rst, "No Internal Process Constraint": a non-root cgroup can distribute domain resources
 * (memory, pids, cpu) to its children only when it has no processes of its own; writing "+memory" to
 * subtree_control of a populated non-root cgroup fails with EBUSY. When the server's own cgroup is
 * such a cgroup, its processes (the server and whatever shares its cgroup, all inside the server's
 * delegation) move into the leaf `<own>/server`, which leaves `<own>` an inner node that may delegate.
 * The root cgroup is exempt, so nothing moves when <own> is the root.
 */
export async function ensureV2Parent(
  io: CgroupIO,
  mountDir: string,
  ownDir: string,
  ctrls: readonly Controller[],
): Promise<EnsureResult> {
  const parent = j(ownDir, 'boxlab');
  const res: EnsureResult = { enabled: [], moved: [] };
  for (const dir of chainFromRoot(mountDir, parent)) {
    // Made only once every ancestor delegates, so a refusal higher up leaves nothing behind.
    if (dir === parent && !(await io.exists(parent))) {
      try {
        await io.mkdir(parent);
      } catch (e) {
        if (errCode(e) !== 'EEXIST') throw e;
      }
    }
    const have = await tokens(io, j(dir, 'cgroup.subtree_control'));
    const missing = ctrls.filter((c) => !have.includes(c));
    if (missing.length === 0) continue;
    const avail = await tokens(io, j(dir, 'cgroup.controllers'));
    const absent = missing.filter((c) => !avail.includes(c));
    if (absent.length) {
      throw Object.assign(new Error(`controller(s) ${absent.join(', ')} not available in ${dir}/cgroup.controllers`), {
        code: 'ENOENT',
        syscall: 'open',
        path: j(dir, 'cgroup.controllers'),
      });
    }
    const value = missing.map((c) => `+${c}`).join(' ');
    // A few tries: a process may be forked into <own> between the move and the write (EBUSY again).
    for (let attempt = 0; ; attempt++) {
      if (dir === ownDir && dir !== mountDir) res.moved.push(...(await moveProcsToLeaf(io, ownDir)));
      try {
        await io.write(j(dir, 'cgroup.subtree_control'), value);
        break;
      } catch (e) {
        if (errCode(e) !== 'EBUSY' || dir !== ownDir || attempt >= 3) throw e;
      }
    }
    res.enabled.push({ dir, controllers: missing });
  }
  return res;
}

/** Moves every process of `ownDir` into `ownDir/server` (one write per process: cgroup.procs takes a pid). */
async function moveProcsToLeaf(io: CgroupIO, ownDir: string): Promise<number[]> {
  const pids = parsePids(await io.read(j(ownDir, 'cgroup.procs')));
  if (pids.length === 0) return [];
  const leaf = j(ownDir, SERVER_LEAF);
  if (!(await io.exists(leaf))) {
    try {
      await io.mkdir(leaf);
    } catch (e) {
      if (errCode(e) !== 'EEXIST') throw e;
    }
  }
  const moved: number[] = [];
  for (const pid of pids) {
    try {
      await io.write(j(leaf, 'cgroup.procs'), String(pid));
      moved.push(pid);
    } catch (e) {
      if (errCode(e) !== 'ESRCH') throw e; // exited meanwhile
    }
  }
  return moved;
}

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
