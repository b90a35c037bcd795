// The one grammar of limits (sizes, cpu fractions, counts, durations) for flags, env, lesson front matter and HTTP; no node imports.
// A parser returns a number or throws a LimitError whose message is the problem only ('is not a size like 256M, …'):
// the caller names the setting in front of it (`BOXLAB_MEMORY: "lots" is not a size like …`), so every consumer
// refuses the same inputs with the same words.

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;
export const TiB = 1024 * GiB;

/** A value outside the grammar or its range; `message` is the problem without the setting's name. */
export class LimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LimitError';
  }
}

export interface Range {
  min: number;
  max: number;
}

const UNITS: Record<string, number> = { '': 1, k: KiB, m: MiB, g: GiB, t: TiB };
/** How a size is written, for error messages and help. */
export const SIZE_FORM = 'a size like 100M, 1G, 64MiB, 512k or 1048576';
/** Largest size any limit takes: far above any box, low enough to catch unit typos ("100T"). */
export const MAX_BYTES = TiB;

/** Short binary form of a byte count: 268435456 -> "256M", 1536 MiB -> "1536M", 1000 -> "1000". */
export function formatBytes(n: number): string {
  for (const [u, f] of [
    ['T', TiB],
    ['G', GiB],
    ['M', MiB],
    ['K', KiB],
  ] as const)
    if (n >= f && n % f === 0) return `${n / f}${u}`;
  return String(n);
}

/**
 * "100M" | "1G" | "512k" | "1048576" | "64MiB" | "64mb" | "1.5g" | "1T" -> bytes. Units are binary (K = 1024) as in
 * docker/runc; an optional "i" and/or "B" after the unit letter is accepted, case is ignored.
 */
export function parseBytes(input: string | number, range: Range = { min: 1, max: MAX_BYTES }): number {
  const s = String(input).trim();
  if (s === '') throw new LimitError(`is empty: use ${SIZE_FORM}`);
  if (/^-/.test(s)) throw new LimitError(`is negative: use ${SIZE_FORM}`);
  const m = /^(\d+(?:\.\d+)?|\.\d+)\s*(?:([kmgt])(?:i?b?)|(b))?$/i.exec(s);
  if (!m) throw new LimitError(`is not ${SIZE_FORM}`);
  const bytes = Math.floor(Number(m[1]) * (UNITS[(m[2] ?? '').toLowerCase()] ?? 1));
  if (!Number.isFinite(bytes)) throw new LimitError('is not a finite number');
  if (bytes <= 0 && range.min > 0) throw new LimitError(`is zero: use ${SIZE_FORM}`);
  if (bytes < range.min) throw new LimitError(`is below the ${formatBytes(range.min)} minimum`);
  if (bytes > range.max) throw new LimitError(`is above the ${formatBytes(range.max)} maximum`);
  return bytes;
}

/** Smallest CPU fraction: the kernel refuses cfs quotas under 1 ms per 100 ms period (sched/core.c min_cfs_quota_period). */
export const MIN_CPU_FRACTION = 0.01;
export const CPU_FORM = 'a number of cores like 0.5 or 2';

/** "0.5" | "2" | ".25" -> fraction of one core, from 0.01 to `cpus` (the machine's CPUs when the caller knows them). */
export function parseCpuFraction(input: string | number, cpus = 1024): number {
  const s = String(input).trim();
  if (!/^(\d+(?:\.\d*)?|\.\d+)$/.test(s)) throw new LimitError(`is not ${CPU_FORM}`);
  const n = Number(s);
  if (n < MIN_CPU_FRACTION) throw new LimitError(`is below the minimum ${MIN_CPU_FRACTION}`);
  if (n > cpus) throw new LimitError(`is above the ${cpus} CPU(s) of this machine`);
  return n;
}

/** Tasks a box may hold: PID 1, its shell and a few commands at least; pid_max's default ceiling at most. */
export const PIDS_RANGE: Range = { min: 8, max: 65536 };

/** A whole number in a range ("128"); no signs, no exponents, no fractions. */
export function parseCount(input: string | number, range: Range): number {
  const s = String(input).trim();
  const n = Number(s);
  if (!/^\d+$/.test(s) || n < range.min || n > range.max) throw new LimitError(`must be an integer in ${range.min}..${range.max}`);
  return n;
}

export const DURATION_FORM = 'a duration like 90s, 30m or 2h';

/** Seconds from "90", "90s", "30m", "2h", between 1 s and 7 days. */
export function parseDurationSec(input: string | number): number {
  const m = /^(\d+)([smh]?)$/.exec(String(input).trim());
  if (!m) throw new LimitError(`is not ${DURATION_FORM}`);
  const n = Number(m[1]) * ({ '': 1, s: 1, m: 60, h: 3600 } as const)[m[2] as '' | 's' | 'm' | 'h'];
  if (n < 1 || n > 7 * 86400) throw new LimitError('must be between 1 s and 7 days');
  return n;
}

/** `what: "raw" problem` for a LimitError, any other error unchanged: the one line every edge prints. */
export function describeLimitError(what: string, raw: unknown, err: unknown): string {
  return err instanceof LimitError ? `${what}: ${JSON.stringify(String(raw))} ${err.message}` : `${what}: ${(err as Error).message}`;
}
