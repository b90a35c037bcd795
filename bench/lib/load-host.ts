// load-host.ts: what the host holds for a set of sandboxes, read straight from the kernel (mountinfo, cgroupfs, /proc,
// the run dir) and never through engine code: leftover inventories, per-box cgroup memory and limits, /proc/meminfo.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RUN_DIR, UID_BASE, UID_RANGE } from '../../server/engine/state.ts';
import { heldUidSlots } from '../../server/engine/uid-registry.ts';

const CONTROLLER_DIRS = ['memory', 'cpu', 'cpuacct', 'pids', 'freezer', 'unified'];
const read = (p: string): string | null => {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return null;
  }
};
const list = (p: string): string[] => {
  try {
    return readdirSync(p);
  } catch {
    return [];
  }
};

/** /proc/meminfo in KiB. */
export function meminfo(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of (read('/proc/meminfo') ?? '').matchAll(/^(\w+(?:\(\w+\))?):\s+(\d+)/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

/** Every `boxlab` parent cgroup directory (the engine's `<own>/boxlab`) of the box controllers, v1 and v2. */
export function boxlabParents(root = '/sys/fs/cgroup'): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number): void => {
    for (const name of list(dir)) {
      if (name === 'boxlab') out.push(join(dir, name));
      else if (depth > 0 && !name.includes('.') && !name.startsWith('bx-')) walk(join(dir, name), depth - 1);
    }
  };
  for (const c of CONTROLLER_DIRS) walk(join(root, c), 4);
  return [...new Set(out)];
}

export interface Inventory {
  /** Host mount points under the sandboxes' state dirs (overlay merged, upper tmpfs). */
  mounts: string[];
  tmpfs: number;
  overlays: number;
  cgroups: string[];
  stateDirs: string[];
  slots: string[];
  /** "pid comm uid state" of processes whose uid lies in one of these boxes' ranges (while no other box holds it). */
  processes: string[];
  /** The same for exited processes not yet reaped by their (new) parent: no memory, only a pid. */
  zombies: string[];
}

export const inventoryTotal = (i: Inventory): number =>
  i.mounts.length + i.cgroups.length + i.stateDirs.length + i.slots.length + i.processes.length + i.zombies.length;

/**
 * What is left on the host of the given sandbox ids (box id → its uid range base, from its stage events).
 * Other people's sandboxes on the same machine are ignored: only these ids and ranges count.
 */
export function inventory(boxes: Map<string, number | null>, runDir = RUN_DIR): Inventory {
  const ids = new Set(boxes.keys());
  const sandboxes = join(runDir, 'sandboxes');
  const inv: Inventory = { mounts: [], tmpfs: 0, overlays: 0, cgroups: [], stateDirs: [], slots: [], processes: [], zombies: [] };
  for (const line of (read('/proc/self/mountinfo') ?? '').split('\n')) {
    const f = line.split(' ');
    const mp = f[4];
    if (!mp?.startsWith(`${sandboxes}/`)) continue;
    if (!ids.has(mp.slice(sandboxes.length + 1).split('/')[0] ?? '')) continue;
    inv.mounts.push(mp);
    const fstype = f[f.indexOf('-') + 1];
    if (fstype === 'tmpfs') inv.tmpfs++;
    if (fstype === 'overlay') inv.overlays++;
  }
  for (const p of boxlabParents()) for (const name of list(p)) if (ids.has(name)) inv.cgroups.push(join(p, name));
  for (const name of list(sandboxes)) if (ids.has(name)) inv.stateDirs.push(join(sandboxes, name));
  const slotOwner = new Map<number, string>();
  // The machine-wide uid registry (server/engine/uid-registry.ts): slots still held by a box. An entry file whose
  // owners are all dead and whose dir has no mounts holds nothing (the next claim or prune removes it): a box that
  // was killed with its server may be reaped by init only after the restart's sweep ran its prune.
  for (const e of heldUidSlots()) {
    slotOwner.set(e.slot, e.id);
    if (ids.has(e.id)) inv.slots.push(String(e.slot));
  }
  // A released range may already belong to a newer box of someone else: only ranges nobody else holds count.
  const ranges = [...boxes.entries()]
    .filter(([id, base]) => base !== null && (slotOwner.get((base - UID_BASE) / UID_RANGE) ?? id) === id)
    .map(([, base]) => base as number);
  if (ranges.length) {
    for (const name of list('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const st = read(`/proc/${name}/status`);
      const uid = Number(/^Uid:\s+(\d+)/m.exec(st ?? '')?.[1] ?? -1);
      if (uid < UID_BASE || !ranges.some((b) => uid >= b && uid < b + UID_RANGE)) continue;
      const state = /^State:\s+(\S)/m.exec(st!)?.[1];
      (state === 'Z' ? inv.zombies : inv.processes).push(`${name} ${/^Name:\s+(.*)$/m.exec(st!)?.[1]} uid=${uid} ${state}`);
    }
  }
  return inv;
}

/** The box's cgroup directory of a controller (found under any boxlab parent), or null. */
export function boxCgroupDir(id: string, controller: string, parents = boxlabParents()): string | null {
  const p = parents.find((d) => d.startsWith(`/sys/fs/cgroup/${controller}/`) && list(d).includes(id));
  return p ? join(p, id) : null;
}

const num = (p: string | null): number => (p === null ? NaN : Number((read(p) ?? '').trim()));

export interface BoxMemory {
  usage: number;
  kmem: number;
  rss: number;
  cache: number;
  shmem: number;
}

/** Memory charged to one box's memory cgroup (v1): total, kernel part, and the memory.stat split (bytes). */
export function boxMemory(id: string, parents = boxlabParents()): BoxMemory | null {
  const dir = boxCgroupDir(id, 'memory', parents);
  if (!dir) return null;
  const stat = read(join(dir, 'memory.stat')) ?? '';
  const st = (k: string) => Number(new RegExp(`^${k} (\\d+)`, 'm').exec(stat)?.[1] ?? NaN);
  return {
    usage: num(join(dir, 'memory.usage_in_bytes')),
    kmem: num(join(dir, 'memory.kmem.usage_in_bytes')),
    rss: st('rss'),
    cache: st('cache'),
    shmem: st('shmem'),
  };
}

export interface BoxLimits {
  memoryBytes: number;
  memswBytes: number;
  pidsMax: number;
  cpuQuotaUs: number;
  cpuPeriodUs: number;
  /** size= of the box's upper-layer tmpfs (host mount), KiB. */
  upperKiB: number;
  /** size= of the box's /dev/shm (in its mount namespace, read through its PID 1), KiB. */
  shmKiB: number;
}

/** The limits the kernel actually enforces on a box, read back from cgroupfs and mount options. */
export function boxLimits(id: string, initPid: number | null, parents = boxlabParents()): BoxLimits {
  const f = (c: string, file: string): number => {
    const d = boxCgroupDir(id, c, parents);
    return d ? num(join(d, file)) : NaN;
  };
  const sizeOf = (mountinfo: string | null, re: RegExp) => {
    const line = (mountinfo ?? '').split('\n').find((l) => re.test(l));
    return Number(/size=(\d+)k/.exec(line ?? '')?.[1] ?? NaN);
  };
  return {
    memoryBytes: f('memory', 'memory.limit_in_bytes'),
    memswBytes: f('memory', 'memory.memsw.limit_in_bytes'),
    pidsMax: f('pids', 'pids.max'),
    cpuQuotaUs: f('cpu', 'cpu.cfs_quota_us'),
    cpuPeriodUs: f('cpu', 'cpu.cfs_period_us'),
    upperKiB: sizeOf(read('/proc/self/mountinfo'), new RegExp(`/sandboxes/${id}/rw .* - tmpfs `)),
    shmKiB: initPid ? sizeOf(read(`/proc/${initPid}/mountinfo`), / \/dev\/shm .* - tmpfs /) : NaN,
  };
}

/** Resident memory (KiB) of a set of host pids: RSS and PSS (shared pages split among their users). */
export function pidsMemory(pids: number[]): { rssKiB: number; pssKiB: number } {
  let rss = 0;
  let pss = 0;
  for (const p of pids) {
    const r = read(`/proc/${p}/smaps_rollup`) ?? '';
    rss += Number(/^Rss:\s+(\d+)/m.exec(r)?.[1] ?? 0);
    pss += Number(/^Pss:\s+(\d+)/m.exec(r)?.[1] ?? 0);
  }
  return { rssKiB: rss, pssKiB: pss };
}
