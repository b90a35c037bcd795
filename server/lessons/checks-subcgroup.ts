// The `subcgroup` vocabulary word (lab mode, cgroup v2): a cgroup the learner made below the box's own, read on the host.
import { z } from 'zod';
import type { SubCgroup } from '../engine/cgroups/delegate-box.ts';
import type { CheckDef } from './checks.ts';
import type { BoxProbe } from './probe.ts';
import { sizeParam } from './settings.ts';

const pass = (message: string) => ({ ok: true, message });
const fail = (message: string) => ({ ok: false, message });
const MiB = 1024 * 1024;
const size = sizeParam(1, true);

const subParams = z.strictObject({
  /** A path below the box's cgroup as the learner sees it under /sys/fs/cgroup (e.g. "mine"), or any. */
  subcgroup: z.union([
    z.literal('any'),
    z
      .string()
      .regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, 'must be a relative cgroup path like mine or a/b')
      .refine((s) => s.split('/').every((seg) => seg !== '.' && seg !== '..'), 'must not contain . or .. segments'),
  ]),
  /** Its memory.max is set (not "max") and at most this. */
  memoryMax: size.optional(),
  /** At least this many OOM kills counted in it (memory.events oom_kill). */
  oomKills: z.number().int().min(1).optional(),
  /** A process of the box lives in it now. */
  hasProcess: z.boolean().optional(),
});
type SubParams = z.infer<typeof subParams>;

/** Why `c` falls short of `p`, or null when it holds. The init/ leaf the engine made never counts as the learner's. */
function shortOf(c: SubCgroup, p: SubParams): string | null {
  if (p.memoryMax !== undefined) {
    if (c.memoryMax === null) return c.controllers.includes('memory') ? 'memory.max is still "max"' : 'the memory controller is off there';
    if (c.memoryMax > p.memoryMax)
      return `memory.max is ${(c.memoryMax / MiB).toFixed(0)} MiB, above ${(p.memoryMax / MiB).toFixed(0)} MiB`;
  }
  if (p.oomKills !== undefined && c.oomKills < p.oomKills) return `${c.oomKills} OOM kill(s) so far`;
  if (p.hasProcess && c.procs.length === 0) return 'no process in it';
  return null;
}

const show = (c: SubCgroup) =>
  `/sys/fs/cgroup/${c.path}: memory.max ${c.memoryMax === null ? 'max' : `${(c.memoryMax / MiB).toFixed(0)} MiB`}, ${c.oomKills} OOM kill(s), ${c.procs.length} process(es)`;

export const SUBCGROUP_CHECKS: Record<string, CheckDef> = {
  subcgroup: {
    params: subParams,
    summary: (p: SubParams) =>
      [
        p.subcgroup === 'any' ? 'a cgroup of your own below the box' : `your cgroup ${p.subcgroup}`,
        p.memoryMax !== undefined && `with memory.max at most ${(p.memoryMax / MiB).toFixed(0)} MiB`,
        p.oomKills !== undefined && `and ${p.oomKills}+ OOM kill(s)`,
        p.hasProcess && 'holding a process',
      ]
        .filter(Boolean)
        .join(' '),
    // An OOM step is a bomb step: the prover reads the box's own memory limit back before typing the solution.
    limit: (p: SubParams) => (p.oomKills !== undefined ? 'memory' : undefined),
    async run(probe: BoxProbe, p: SubParams) {
      const all = await probe.cgroupSubtree();
      const mine = all.filter((c) => c.path !== 'init' && (p.subcgroup === 'any' || c.path === p.subcgroup));
      if (!all.length) return fail('the box has no cgroup subtree of its own (lab mode on cgroup v2 gives one)');
      if (!mine.length)
        return fail(
          p.subcgroup === 'any'
            ? 'no cgroup of yours below the box yet (mkdir one under /sys/fs/cgroup)'
            : `no cgroup ${p.subcgroup} below the box`,
        );
      let first: string | null = null;
      for (const c of mine) {
        const why = shortOf(c, p);
        if (!why) return pass(show(c));
        first ??= `/sys/fs/cgroup/${c.path}: ${why}`;
      }
      return fail(first!);
    },
  },
};
