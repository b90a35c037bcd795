// Parsing of user limit strings ("100M", "0.5") and of the flat "key value" files cgroupfs exposes.
import os from 'node:os';

const UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };
/** Largest memory limit we accept: far above any box, low enough to catch unit typos ("100T"). */
export const MAX_MEMORY_BYTES = 2 ** 40;

/**
 * "100M" | "1G" | "512k" | "1048576" | "64MiB" | "1.5g" -> bytes. Units are binary (K = 1024) as in
 * docker/runc; an optional "i" and/or "B" after the unit letter is accepted, case is ignored.
 */
export function parseMemory(input: string): number {
  const s = String(input).trim();
  if (s === '') throw new Error('memory limit is empty: use a size like 100M, 1G, 512k or 1048576');
  if (/^-/.test(s)) throw new Error(`memory limit "${s}" is negative: use a size like 100M`);
  const m = /^(\d+(?:\.\d+)?|\.\d+)\s*(?:([kmgt])(?:i?b?)|(b))?$/i.exec(s);
  if (!m) throw new Error(`memory limit "${s}" is not a size like 100M, 1G, 512k or 1048576`);
  const unit = (m[2] ?? '').toLowerCase();
  const bytes = Math.floor(Number(m[1]) * (UNITS[unit] ?? NaN));
  if (!Number.isFinite(bytes)) throw new Error(`memory limit "${s}" is not a finite number`);
  if (bytes <= 0) throw new Error(`memory limit "${s}" is zero: a box needs at least 1 byte (try 64M)`);
  if (bytes > MAX_MEMORY_BYTES) throw new Error(`memory limit "${s}" is above the 1T maximum`);
  return bytes;
}

/** Smallest CPU fraction: the kernel refuses cfs quotas under 1 ms per 100 ms period (sched/core.c min_cfs_quota_period). */
export const MIN_CPU_FRACTION = 0.01;

/** "0.5" | "2" -> fraction of one core, between 0.01 and the number of CPUs. */
export function parseCpuFraction(input: string, nproc: number = os.availableParallelism()): number {
  const s = String(input).trim();
  if (!/^(\d+(?:\.\d*)?|\.\d+)$/.test(s)) {
    throw new Error(`cpu limit "${s}" is not a number of cores like 0.5 or 2`);
  }
  const n = Number(s);
  if (n < MIN_CPU_FRACTION) throw new Error(`cpu limit "${s}" is below the minimum ${MIN_CPU_FRACTION}`);
  if (n > nproc) throw new Error(`cpu limit "${s}" is above the ${nproc} CPU(s) of this machine`);
  return n;
}

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
