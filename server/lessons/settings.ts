// Lesson sandbox settings: what a lesson asks for, capped by the server's own limits, and whether a running box already has it.
import type { SandboxSettings } from '../protocol/lessons.ts';
import type { BoxSettings } from '../protocol/settings.ts';
import { z } from 'zod';
import { MAX_BYTES, formatBytes, parseBytes } from '../protocol/size.ts';

/** A size in a check's parameters: a number (of bytes, or of the value's own unit), or the one grammar's text
 * (10M, 64MiB; protocol/size.ts). `whole`: the number must be an integer. */
export function sizeParam(min: number, whole = false) {
  return z.union([
    whole ? z.number().int().min(min) : z.number().min(min),
    z.string().transform((v, ctx) => {
      try {
        return parseBytes(v, { min, max: MAX_BYTES });
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v)} ${(err as Error).message} (or a plain number)` });
        return z.NEVER;
      }
    }),
  ]);
}

/** The display form of typed settings (64 MiB -> "64M") the browser shows on the lesson list and page. */
export function boxSettingsText(b: BoxSettings): SandboxSettings {
  const out: SandboxSettings = {};
  if (b.image !== undefined) out.image = b.image;
  if (b.memoryBytes !== undefined) out.memory = formatBytes(b.memoryBytes);
  if (b.cpuFraction !== undefined) out.cpuLimit = String(b.cpuFraction);
  if (b.pids !== undefined) out.pids = b.pids;
  if (b.lab !== undefined) out.lab = b.lab;
  return out;
}

/** The server's own limits, as numbers (parsed once from env and flags). */
export interface Limits {
  memoryBytes: number;
  cpuFraction: number;
  pids: number;
  /** The operator's switch (BOXLAB_LAB): false drops every lesson's lab mode. */
  lab?: boolean;
  /** Whether the server has a named image (a pack may ask for one); without it the default image is used. */
  hasImage?: (name: string) => boolean;
}

/** The lesson's settings, each lowered to the server's limit: a lesson never gets more than any other session. */
export function settingsFor(want: BoxSettings, limits: Limits): BoxSettings {
  const out: BoxSettings = {};
  if (want.image && limits.hasImage?.(want.image)) out.image = want.image;
  if (want.memoryBytes) out.memoryBytes = Math.min(want.memoryBytes, limits.memoryBytes);
  if (want.cpuFraction) out.cpuFraction = Math.min(want.cpuFraction, limits.cpuFraction);
  if (want.pids) out.pids = Math.min(want.pids, limits.pids);
  if (want.lab && limits.lab !== false) out.lab = true;
  return out;
}

/** True when a box made with `config` has every setting of `want` (unset ones mean the server default). */
export function settingsMatch(
  config: { memoryBytes: number; cpuFraction: number; pids: number; baseDir?: string; lab?: boolean },
  want: BoxSettings,
  limits: Limits,
): boolean {
  // A pack's image: the box must have been made from it (its base directory is named after it).
  if (want.image && config.baseDir !== undefined && config.baseDir.split('/').pop() !== want.image) return false;
  return (
    config.memoryBytes === (want.memoryBytes ?? limits.memoryBytes) &&
    config.cpuFraction === (want.cpuFraction ?? limits.cpuFraction) &&
    config.pids === (want.pids ?? limits.pids) &&
    // A lab box serves a lesson that does not ask for lab mode (the instructor's box is always one: rebuilding it
    // into a plain box would loop, course.ts gives it lab again); a lesson that asks for it needs one.
    (!want.lab || config.lab === true)
  );
}
