// Parsing of the flat "key value" files cgroupfs exposes. Limits arrive as numbers: their text ("100M", "0.5") is
// parsed at the edge by the one grammar of server/protocol/size.ts.

/** Pids limit: a positive integer (the box needs at least its PID 1). */
export function checkPids(n: number): number {
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`pids limit ${n} must be a positive integer`);
  return n;
}

/** Parses "key value" lines (memory.events, cpu.stat, memory.oom_control) into numbers. */
export function parseKeyed(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^-?\d+$/.test(v)) out.set(k, Number(v));
  }
  return out;
}

/** A single-number cgroup file; "max" (v2 unlimited) and v1's near-2^63 "unlimited" read as -1. */
export function parseLimit(text: string): number {
  const s = text.trim();
  if (s === 'max' || s === '-1') return -1;
  if (!/^\d+$/.test(s)) throw new Error(`unexpected cgroup value "${s}"`);
  const n = Number(s);
  // v1 prints PAGE_COUNTER_MAX*PAGE_SIZE (9223372036854771712) for "no limit".
  return n >= 2 ** 62 ? -1 : n;
}

/** Parses a cgroup.procs listing into pids. */
export function parsePids(text: string): number[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^\d+$/.test(l))
    .map(Number);
}

/** Limits of one box, already parsed. */
export interface CgroupLimits {
  memoryBytes: number;
  /** Fraction of one CPU (0.5 = half a core). */
  cpuFraction: number;
  pids: number;
}

/** CFS period: 100 ms, the kernel default, so a quota reads as "this many µs per 100 ms". */
export const CFS_PERIOD_US = 100_000;

/** Quota in µs for a fraction of one CPU over CFS_PERIOD_US; never under the kernel's 1 ms minimum. */
export function cfsQuotaUs(fraction: number): number {
  return Math.max(1000, Math.round(fraction * CFS_PERIOD_US));
}

/** "max N" of pids.events: forks refused at a pids.max (where the kernel counts one: server/lessons/kernel-reads.ts). */
export const pidsRefusedOf = (events: string): number => Number(/^max\s+(\d+)/m.exec(events)?.[1] ?? 0);
