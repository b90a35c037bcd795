// Admission by host memory: a new box is refused before the memory limits promised to boxes pass what the host can back.
import { readFileSync } from 'node:fs';

/** Reads /proc/meminfo (injectable: unit tests pass a fake text). */
export type MeminfoReader = () => string;
export const readProcMeminfo: MeminfoReader = () => readFileSync('/proc/meminfo', 'utf8');

/** MemAvailable in bytes from a /proc/meminfo text (proc(5): values are in kB, i.e. KiB); null when absent (Linux < 3.14). */
export function memAvailable(meminfo: string): number | null {
  const m = /^MemAvailable:\s+(\d+)\s*kB/m.exec(meminfo);
  return m ? Number(m[1]) * 1024 : null;
}

export interface AdmissionInput {
  /** Memory limits of the live boxes (sessions), bytes: what is promised already. */
  promised: number;
  /** Memory charged to those boxes now (their cgroups' memory.current / usage_in_bytes), bytes. */
  charged: number;
  /** The new box's memory limit, bytes. */
  want: number;
}

export type AdmissionVerdict =
  | { ok: true; promised: number; backing: number }
  | { ok: false; promised: number; backing: number; message: string };

export interface AdmissionOptions {
  /** Promise at most ratio × backing (BOXLAB_MEMORY_OVERCOMMIT, default 1.0: no overcommit). */
  ratio: number;
  read?: MeminfoReader;
}

const mib = (n: number): string => `${n < 10 * 1048576 ? Math.round(n / 104857.6) / 10 : Math.round(n / 1048576)} MiB`;

/**
 * What the host can back, and the decision.
 *
 * proc(5) defines MemAvailable as "an estimate of how much memory is available for starting new applications,
 * without swapping": the page cache and reclaimable slab that can be freed, minus what the kernel keeps for itself.
 * Memory the live boxes already use is charged to their cgroups and so is no longer in MemAvailable. Comparing
 * the whole promise with MemAvailable alone would count that memory twice (once as promised, once as missing), and
 * a server whose boxes are busy would refuse long before the host is short. So the backing is what the boxes could
 * get in total if nothing else on the host grew:
 *
 *     backing  = MemAvailable + memory charged to live boxes now
 *     admit iff  Σ limits of live boxes + the new box's limit  ≤  ratio × backing
 *
 * At ratio 1 every box can reach its limit at once without swapping or the host's OOM killer (each box's own cgroup
 * limit still stops it first). A ratio above 1 overcommits: most boxes idle far below their limit, and a box that
 * grows beyond what the host has hits memory pressure (reclaim, then the OOM killer of the host). MemAvailable is
 * read at each decision, so other programs on the host lower the budget as they grow.
 */
export class MemoryAdmission {
  private readonly read: MeminfoReader;
  constructor(private readonly opts: AdmissionOptions) {
    if (!(opts.ratio > 0)) throw new RangeError(`admission: overcommit ratio must be > 0, got ${opts.ratio}`);
    this.read = opts.read ?? readProcMeminfo;
  }

  get ratio(): number {
    return this.opts.ratio;
  }

  decide(i: AdmissionInput): AdmissionVerdict {
    let available: number | null;
    try {
      available = memAvailable(this.read());
    } catch {
      available = null;
    }
    // No MemAvailable (a kernel before 3.14, or no procfs): nothing to decide on; the session caps still apply.
    if (available === null) return { ok: true, promised: i.promised + i.want, backing: Infinity };
    const backing = available + i.charged;
    const promised = i.promised + i.want;
    if (promised <= this.opts.ratio * backing) return { ok: true, promised, backing };
    const ratio = this.opts.ratio === 1 ? '' : ` × overcommit ${this.opts.ratio}`;
    return {
      ok: false,
      promised,
      backing,
      message:
        `Not enough host memory for another ${mib(i.want)} box: boxes already hold ${mib(i.promised)} of ` +
        `${mib(this.opts.ratio * backing)} the host can back (MemAvailable ${mib(available)} + ${mib(i.charged)} in use by boxes${ratio}).`,
    };
  }
}
