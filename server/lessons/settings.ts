// Lesson sandbox settings: what a lesson asks for, capped by the server's own limits, and whether a running box already has it.
import type { SandboxSettings } from '../protocol/lessons.ts';

export interface Limits {
  memory: string;
  cpuLimit: string;
  pids: number;
  /** The operator's switch (BOXLAB_LAB): false drops every lesson's lab mode. */
  lab?: boolean;
  /** Whether the server has a named image (a pack may ask for one); without it the default image is used. */
  hasImage?: (name: string) => boolean;
}

const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** "64M" → bytes; NaN for anything else. */
export function sizeBytes(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMG]?)$/i.exec(s.trim());
  return m ? Math.round(Number(m[1]) * (UNITS[m[2]!.toUpperCase()] ?? NaN)) : NaN;
}

/** The lesson's settings, each lowered to the server's limit: a lesson never gets more than any other session. */
export function settingsFor(want: SandboxSettings, limits: Limits): SandboxSettings {
  const out: SandboxSettings = {};
  if (want.image && limits.hasImage?.(want.image)) out.image = want.image;
  if (want.memory) out.memory = sizeBytes(want.memory) <= sizeBytes(limits.memory) ? want.memory : limits.memory;
  if (want.cpuLimit) out.cpuLimit = Number(want.cpuLimit) <= Number(limits.cpuLimit) ? want.cpuLimit : limits.cpuLimit;
  if (want.pids) out.pids = Math.min(want.pids, limits.pids);
  if (want.lab && limits.lab !== false) out.lab = true;
  return out;
}

/** True when a box made with `config` has every setting of `want` (unset ones mean the server default). */
export function settingsMatch(config: { memory: string; cpuLimit: string; pids: number; baseDir?: string; lab?: boolean }, want: SandboxSettings, limits: Limits): boolean {
  // A pack's image: the box must have been made from it (its base directory is named after it).
  if (want.image && config.baseDir !== undefined && config.baseDir.split('/').pop() !== want.image) return false;
  const full = { memory: want.memory ?? limits.memory, cpuLimit: want.cpuLimit ?? limits.cpuLimit, pids: want.pids ?? limits.pids };
  return sizeBytes(config.memory) === sizeBytes(full.memory) && Number(config.cpuLimit) === Number(full.cpuLimit) && config.pids === full.pids
    // A lab box serves a lesson that does not ask for lab mode (the instructor's box is always one: rebuilding it
    // into a plain box would loop, course.ts gives it lab again); a lesson that asks for it needs one.
    && (!want.lab || config.lab === true);
}
