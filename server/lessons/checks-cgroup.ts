// The `cgroup` vocabulary word: one named value of the box's cgroup (v1 or v2, through the engine's stats), compared with
// bounds, optionally as growth since the step began, optionally only after a higher value was seen on the step.
import { z } from 'zod';
import type { CheckDef, Memo } from './checks.ts';
import { pidsMaxEvents } from './kernel-reads.ts';
import type { BoxProbe } from './probe.ts';
import { sizeParam } from './settings.ts';

const pass = (message: string) => ({ ok: true, message });
const fail = (message: string) => ({ ok: false, message });
const MiB = 1024 * 1024;

/** value → how to read it, its unit for messages, and the limit a step that drives it up leans on. */
const VALUES = {
  'memory.current': { read: async (p: BoxProbe) => (await p.stats()).memory.current, unit: 'bytes', limit: undefined },
  'memory.oom_kill': { read: async (p: BoxProbe) => (await p.stats()).memory.oomKills, unit: 'OOM kills', limit: 'memory' },
  'cpu.usage': { read: async (p: BoxProbe) => (await p.stats()).cpu.usageUsec / 1e6, unit: 's of cpu', limit: undefined },
  'cpu.throttled': { read: async (p: BoxProbe) => (await p.stats()).cpu.nrThrottled, unit: 'throttled periods', limit: 'cpu' },
  'pids.current': { read: async (p: BoxProbe) => (await p.stats()).pids.current, unit: 'tasks', limit: undefined },
  'pids.max_events': { read: async (p: BoxProbe) => pidsMaxEvents(p), unit: 'forks refused at pids.max', limit: 'pids' },
} as const;
type ValueName = keyof typeof VALUES;

/** A number, or a size like 10M for memory values. */
const amount = sizeParam(0);

const cgParams = z
  .strictObject({
    cgroup: z.enum(Object.keys(VALUES) as [ValueName, ...ValueName[]]),
    atLeast: amount.optional(),
    atMost: amount.optional(),
    /** Compare the growth since the learner arrived at the step, not the value itself. */
    since: z.literal('step').optional(),
    /** Holds only after the value was seen above this on the step (e.g. a fork bomb, then calm). */
    seenAbove: amount.optional(),
  })
  .refine((p) => p.atLeast !== undefined || p.atMost !== undefined, { message: 'needs atLeast or atMost', path: ['cgroup'] });
type CgParams = z.infer<typeof cgParams>;

const show = (name: ValueName, v: number) =>
  name === 'memory.current'
    ? `${(v / MiB).toFixed(1)} MiB`
    : name === 'cpu.usage'
      ? `${v.toFixed(2)} s of cpu`
      : `${v} ${VALUES[name].unit}`;

export const CGROUP_CHECKS: Record<string, CheckDef> = {
  cgroup: {
    params: cgParams,
    summary: (p: CgParams) => {
      const bound = [
        p.atLeast !== undefined && `at least ${show(p.cgroup, p.atLeast)}`,
        p.atMost !== undefined && `at most ${show(p.cgroup, p.atMost)}`,
      ]
        .filter(Boolean)
        .join(' and ');
      return `the box's ${p.cgroup} is ${bound}${p.since ? ' since this step began' : ''}${p.seenAbove !== undefined ? ` after more than ${show(p.cgroup, p.seenAbove)} were seen` : ''}`;
    },
    limit: (p: CgParams) => (p.since ? VALUES[p.cgroup].limit : undefined),
    init: async (probe: BoxProbe, p: CgParams) => (p.since ? { base: await VALUES[p.cgroup].read(probe) } : {}),
    async run(probe: BoxProbe, p: CgParams, memo: Memo) {
      const raw = await VALUES[p.cgroup].read(probe);
      if (p.seenAbove !== undefined && raw > p.seenAbove) memo.seen = true;
      const v = p.since ? raw - (memo.base as number) : raw;
      const now = `${show(p.cgroup, v)}${p.since ? ' since this step began' : ''}`;
      if (p.seenAbove !== undefined && !memo.seen)
        return fail(`never more than ${show(p.cgroup, p.seenAbove)} on this step (${show(p.cgroup, raw)} now)`);
      if (p.atLeast !== undefined && v < p.atLeast) return fail(`${now} so far`);
      if (p.atMost !== undefined && v > p.atMost) return fail(`${now}: still above ${show(p.cgroup, p.atMost)}`);
      return pass(`${now}${await context(probe, p.cgroup)}`);
    },
  },
};

/** The limit beside the value, read back from the box's cgroup (what the learner is pushing against). */
async function context(probe: BoxProbe, name: ValueName): Promise<string> {
  const s = await probe.stats();
  if (name.startsWith('memory')) return ` (limit ${(s.memory.limit / MiB).toFixed(0)} MiB)`;
  if (name.startsWith('cpu')) return ` (quota ${s.cpu.quotaFraction} of a core)`;
  return ` (${s.pids.current} of ${s.pids.max} tasks)`;
}
