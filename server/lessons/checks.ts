// The check vocabulary: host-side kernel facts of the learner's own box (layers, processes, namespaces, cgroups, mounts,
// network, IPC, stages), each with parameters; compose.ts combines them (all/any/not) and maps the legacy `type:` checks.
import { z } from 'zod';
import { FACT_NAMES, answerMatches, readFact, type FactName } from './facts.ts';
import type { BoxProbe, BoxProc } from './probe.ts';
import { matching, procLabel } from './kernel-reads.ts';
import { NET_CHECKS } from './checks-net.ts';
import { CGROUP_CHECKS } from './checks-cgroup.ts';
import { LAB_CHECKS } from './lab-checks.ts';
import { SUBCGROUP_CHECKS } from './checks-subcgroup.ts';

export interface CheckResult {
  ok: boolean;
  message: string;
}
export type Memo = Record<string, unknown>;
/** The step the check runs for: opened at openedAt (Date.now() scale); absent outside a learner's step (unit tests). */
export interface StepContext {
  openedAt?: number;
}

/**
 * A file the learner left before the step opened is not this step's work: file and answer checks ignore a file whose
 * ctime (changed by every write, chmod, chown, rename and by creation, stat(2)) is older than the step. The box's
 * clock is the host's (the upper layer is a host directory), so the kernel's timestamps compare with Date.now().
 */
export const before = (st: { ctimeMs: number } | null | undefined, ctx: StepContext | undefined): boolean =>
  !!st && ctx?.openedAt !== undefined && st.ctimeMs < ctx.openedAt;

/** One word of the vocabulary: its key's value and the other keys of its map are the parameters. */
// biome-ignore lint/suspicious/noExplicitAny: the vocabulary maps keys to defs of different P; any lets them share one table
export interface CheckDef<P = any> {
  params: z.ZodType<P>;
  summary(p: P): string;
  /** Session states in which the check runs (default: running only). */
  states?: readonly ('running' | 'exited')[];
  /** Baseline taken when the learner arrives at the step (counters are compared against it). */
  init?(probe: BoxProbe, p: P): Promise<Memo> | Memo;
  run(probe: BoxProbe, p: P, memo: Memo, ctx?: StepContext): Promise<CheckResult> | CheckResult;
  /** The cgroup limit a bomb step leans on: tests verify it is set on the box before running the bomb. */
  limit?(p: P): 'memory' | 'cpu' | 'pids' | undefined;
}

export const pass = (message: string): CheckResult => ({ ok: true, message });
export const fail = (message: string): CheckResult => ({ ok: false, message });
export const absPath = z.string().regex(/^\/[^\0]*$/, 'must be an absolute path in the box');
export const describeProc = (p: BoxProc) =>
  `${p.argv.join(' ') || p.name}${p.state === 'Z' ? ' (zombie)' : ''}: PID ${p.boxPid} in the box, ${p.hostPid} on the host, parent PID ${p.boxPpid}`;

const fileParams = z.strictObject({
  file: absPath,
  /** upper: written in the box (new or copied up); new: not in the image; copied-up: an image file changed; whiteout: an image file deleted. */
  layer: z.enum(['upper', 'new', 'copied-up', 'whiteout']).default('upper'),
  contains: z.string().optional(),
  executable: z.boolean().optional(),
  /** Owner uid inside the box; compared with the host uid through the box's uid_map. */
  owner: z.number().int().min(0).optional(),
  /** The file's text must differ from this fact (e.g. /etc/hostname against the kernel's hostname). */
  differsFromFact: z.enum(FACT_NAMES as [FactName, ...FactName[]]).optional(),
});
type FileParams = z.infer<typeof fileParams>;

export const procParams = z.strictObject({
  /** A substring of the command line; `any` for any process (then `name`, `root`... narrow it). */
  process: z.string().min(1),
  name: z.string().optional(),
  state: z.string().length(1).optional(),
  /** Re-parented to PID 1 after its parent died: parent is PID 1 and its process group leader is gone. */
  orphan: z.boolean().optional(),
  /** The process's root directory is this directory of the box (chroot). */
  root: absPath.optional(),
  /** ...and its cwd is outside that root (the moved-directory escape). */
  cwdOutside: z.boolean().optional(),
  /** Holds when no such process exists... */
  absent: z.boolean().optional(),
  /** ...after one was seen earlier on this step. */
  seenFirst: z.boolean().optional(),
  /** `step`: only a process that was not already running when the step opened counts as seen or present. */
  since: z.literal('step').optional(),
});
export type ProcParams = z.infer<typeof procParams>;
const procMatch = (p: ProcParams) => ({ ...p, argv: p.process === 'any' ? undefined : p.process });

const answerParams = z.strictObject({
  answer: z.enum(FACT_NAMES as [FactName, ...FactName[]]),
  path: absPath.default('/root/answer'),
  arg: z.string().optional(),
  match: z.enum(['equals', 'contains', 'number']).default('equals'),
});

const FILE_SUMMARY: Record<FileParams['layer'], (p: string) => string> = {
  new: (p) => `${p} is new: in the upper layer only`,
  'copied-up': (p) => `${p} was copied up into the upper layer`,
  whiteout: (p) => `${p} is hidden by a whiteout in the upper layer`,
  upper: (p) => `${p} exists in the upper layer`,
};

export const BASE_CHECKS: Record<string, CheckDef> = {
  file: {
    params: fileParams,
    summary: (p: FileParams) =>
      FILE_SUMMARY[p.layer](p.file) + (p.differsFromFact ? ` and differs from the box's ${p.differsFromFact}` : ''),
    async run(probe, p: FileParams, _memo, ctx) {
      const path = p.file;
      const up = probe.upperStat(path);
      const low = probe.lowerStat(path);
      if (before(up, ctx)) return fail(`${path} is as it was when this step opened: this step asks you to change it`);
      if (p.layer === 'whiteout') {
        if (!low) return fail(`${path} is not in the image, so deleting it needs no whiteout`);
        if (up?.isCharacterDevice() && up.rdev === 0)
          return pass(`Whiteout: ${path} is a 0/0 character device in the upper layer; the image still has it`);
        return fail(up ? `${path} is still in the upper layer` : `${path} still comes from the image (lower layer)`);
      }
      if (!up) return fail(low ? `${path} is only in the image (lower layer): nothing was written yet` : `${path} does not exist`);
      if (!up.isFile()) return fail(`${path} in the upper layer is not a regular file`);
      if (p.layer === 'new' && low) return fail(`${path} also exists in the image: this is a copy-up, not a new file`);
      if (p.layer === 'copied-up' && !low) return fail(`${path} is new, not a file of the image`);
      if (p.executable && !(up.mode & 0o111)) return fail(`${path} is not executable`);
      const text = p.contains !== undefined || p.differsFromFact ? (probe.readUpper(path, 4096)?.data.toString('utf8') ?? '') : '';
      if (p.contains !== undefined && !text.includes(p.contains)) return fail(`${path} does not contain "${p.contains}"`);
      if (p.differsFromFact) {
        const fact = await readFact(p.differsFromFact, probe);
        if (text.trim() === fact)
          return fail(`${path} says "${text.trim().slice(0, 40)}", which is the ${p.differsFromFact} already: write something else`);
        return pass(`${path} says "${text.trim().slice(0, 40)}" but the box's ${p.differsFromFact} is still "${fact}"`);
      }
      if (p.owner !== undefined) {
        const base = Number(/^\s*0\s+(\d+)/m.exec(probe.procText('uid_map'))?.[1]);
        if (up.uid !== base + p.owner)
          return fail(`${path} belongs to host uid ${up.uid}, that is uid ${up.uid - base} in the box, not ${p.owner}`);
        return pass(`${path}: uid ${p.owner} in the box is host uid ${up.uid} (${base} + ${p.owner})`);
      }
      const where = p.layer === 'copied-up' ? 'copied up into the upper layer; the image copy is untouched' : 'in the upper layer only';
      return pass(`${path}: ${up.size} bytes, ${where}`);
    },
  },

  answer: {
    params: answerParams,
    summary: (p: z.infer<typeof answerParams>) => `your answer in ${p.path} matches the box's ${p.answer}`,
    async run(probe, p: z.infer<typeof answerParams>, _memo, ctx) {
      const file = probe.readUpper(p.path, 4096);
      if (!file) return fail(`write your answer into ${p.path}`);
      // The course reuses /root/answer: what an earlier step left there is not an answer to this one.
      if (before(file.stat, ctx)) return fail(`write your answer into ${p.path} (what it holds was written before this step)`);
      const answer = file.data.toString('utf8').trim();
      const fact = await readFact(p.answer, probe, p.arg);
      if (fact === null) return fail(`the box has no ${p.answer}${p.arg ? ` for "${p.arg}"` : ''} right now`);
      if (!answer) return fail(`${p.path} is empty`);
      return answerMatches(answer, fact, p.match) ? pass(`Right: ${fact}`) : fail(`"${answer.slice(0, 60)}" is not it yet`);
    },
  },

  process: {
    params: procParams,
    summary: (p: ProcParams) => {
      const what = procLabel(procMatch(p), true);
      if (p.root)
        return p.cwdOutside ? `${what} chrooted into ${p.root} has its cwd outside it` : `${what} runs with ${p.root} as its root`;
      return `${what} is ${p.absent ? 'gone from' : 'in'} the box`;
    },
    // `since: step`: what an earlier step left running is not this step's work (as file checks ignore older files);
    // cgroup-cpu's `timeout 3 yes` still runs when its step turns green, then ends by itself on the next step.
    init: (probe, p: ProcParams) => (p.since ? { before: matching(probe.processes(), procMatch(p)).map((x) => x.hostPid) } : {}),
    run(probe, p: ProcParams, memo) {
      const m = procMatch(p);
      let hits = matching(probe.processes(), m);
      const before = (memo.before as number[] | undefined) ?? [];
      const fresh = hits.filter((x) => !before.includes(x.hostPid));
      if (!p.absent) hits = fresh;
      if (p.root) {
        const jail = probe.boxDirId(p.root);
        if (!jail) return fail(`${p.root} is not a directory in the box`);
        hits = hits.filter((x) => probe.rootIdOf(x.hostPid) === jail);
        if (!hits.length) return fail(`no ${procLabel(m)} has ${p.root} as its root directory`);
        if (!p.cwdOutside) return pass(`${describeProc(hits[0]!)}, root directory ${p.root}`);
        const out = hits.find((x) => probe.cwdOutside(x.hostPid, jail) === true);
        return out
          ? pass(`${describeProc(out)}: root is ${p.root}, yet its cwd is outside it`)
          : fail(`the jailed processes still have their cwd inside ${p.root}`);
      }
      if (!p.absent) return hits[0] ? pass(describeProc(hits[0])) : fail(`no ${procLabel(m)} in the box`);
      if (hits[0]) {
        // Gone means gone (a leftover still counts as there), but only this step's own process was "seen first".
        if (fresh.length) memo.seen = true;
        return fail(`still there: ${describeProc(hits[0])}`);
      }
      if (p.seenFirst && !memo.seen) return fail(`there was no ${procLabel(m)} to get rid of on this step`);
      return pass(`no ${procLabel(m)} left`);
    },
  },

  stages: {
    params: z.strictObject({ stages: z.array(z.string().regex(/^[a-z_]+$/)).min(1) }),
    summary: (p: { stages: string[] }) => `the engine reported ${p.stages.join(' → ')}, in order`,
    states: ['running', 'exited'],
    run(probe, p: { stages: string[] }) {
      const names = probe.events.map((e) => e.stage as string);
      const missing = p.stages.filter((s) => !names.includes(s));
      if (missing.length === p.stages.length) return fail(`no ${p.stages[0]} yet (the box is still running)`);
      if (missing.length) return fail(`in progress: waiting for ${missing[0]}`);
      const order = p.stages.map((s) => names.indexOf(s));
      const sorted = order.every((v, i) => i === 0 || v > order[i - 1]!);
      return sorted ? pass(`seen: ${p.stages.join(' → ')}`) : fail('the stages came out of order');
    },
  },
};

// LAB_CHECKS: `nested`, what a lab-mode learner built inside the box (docs/lab-mode.md).
// SUBCGROUP_CHECKS: `subcgroup`, a cgroup a lab-mode learner made below the box's (cgroup v2 delegation).
export const CHECKS: Record<string, CheckDef> = { ...BASE_CHECKS, ...NET_CHECKS, ...CGROUP_CHECKS, ...LAB_CHECKS, ...SUBCGROUP_CHECKS };

export function checkDef(word: string): CheckDef | undefined {
  return Object.hasOwn(CHECKS, word) ? CHECKS[word] : undefined;
}
