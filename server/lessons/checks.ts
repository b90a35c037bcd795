// Lesson checks: each tests a kernel fact of the learner's own box (layers, processes, cgroups, namespaces), never the screen.
import { z } from 'zod';
import { FACT_NAMES, answerMatches, readFact, type FactName } from './facts.ts';
import type { BoxProbe, BoxProc } from './probe.ts';
import { LAB_CHECKS } from './lab-checks.ts';
import { listeningPorts, matching, pidsMaxEvents, procLabel, rxPackets, shmSegments } from './kernel-reads.ts';

export interface CheckResult {
  ok: boolean;
  message: string;
}
export type Memo = Record<string, unknown>;

export interface CheckDef<P = any> {
  params: z.ZodType<P>;
  summary(p: P): string;
  /** Session states in which the check runs (default: running only). */
  states?: readonly ('running' | 'exited')[];
  /** Baseline taken when the learner arrives at the step (counters are compared against it). */
  init?(probe: BoxProbe, p: P): Promise<Memo> | Memo;
  run(probe: BoxProbe, p: P, memo: Memo): Promise<CheckResult> | CheckResult;
  /** The cgroup limit a bomb step leans on: tests verify it is set on the box before running the bomb. */
  limit?: 'memory' | 'cpu' | 'pids';
}

const MiB = 1024 * 1024;
const pass = (message: string): CheckResult => ({ ok: true, message });
const fail = (message: string): CheckResult => ({ ok: false, message });
const absPath = z.string().regex(/^\/[^\0]*$/, 'an absolute path in the box');
const describeProc = (p: BoxProc) =>
  `${p.argv.join(' ') || p.name}${p.state === 'Z' ? ' (zombie)' : ''}: PID ${p.boxPid} in the box, ${p.hostPid} on the host, parent PID ${p.boxPpid}`;

const fileParams = z.strictObject({
  path: absPath,
  state: z.enum(['upper-only', 'copied-up', 'whiteout', 'present']).default('present'),
  contains: z.string().optional(),
  executable: z.boolean().optional(),
  /** Owner uid inside the box; compared with the host uid through the box's uid_map. */
  owner: z.number().int().min(0).optional(),
});

export const procParams = z.strictObject({
  name: z.string().optional(),
  argv: z.string().optional(),
  state: z.string().length(1).optional(),
  /** Re-parented to PID 1 after its parent died: parent is PID 1 and its process group leader is gone. */
  orphan: z.boolean().optional(),
  /** Holds when no such process exists... */
  absent: z.boolean().optional(),
  /** ...after one was seen earlier on this step. */
  seenFirst: z.boolean().optional(),
});
export type ProcParams = z.infer<typeof procParams>;

export const CHECKS: Record<string, CheckDef> = {
  file: {
    params: fileParams,
    summary: (p: z.infer<typeof fileParams>) =>
      ({ 'upper-only': `${p.path} is new: in the upper layer only`, 'copied-up': `${p.path} was copied up into the upper layer`,
        whiteout: `${p.path} is hidden by a whiteout in the upper layer`, present: `${p.path} exists in the upper layer` })[p.state],
    run(probe, p: z.infer<typeof fileParams>) {
      const up = probe.upperStat(p.path);
      const low = probe.lowerStat(p.path);
      if (p.state === 'whiteout') {
        if (!low) return fail(`${p.path} is not in the image, so deleting it needs no whiteout`);
        if (up?.isCharacterDevice() && up.rdev === 0) return pass(`Whiteout: ${p.path} is a 0/0 character device in the upper layer; the image still has it`);
        return fail(up ? `${p.path} is still in the upper layer` : `${p.path} still comes from the image (lower layer)`);
      }
      if (!up) return fail(low ? `${p.path} is only in the image (lower layer): nothing was written yet` : `${p.path} does not exist`);
      if (!up.isFile()) return fail(`${p.path} in the upper layer is not a regular file`);
      if (p.state === 'upper-only' && low) return fail(`${p.path} also exists in the image: this is a copy-up, not a new file`);
      if (p.state === 'copied-up' && !low) return fail(`${p.path} is new, not a file of the image`);
      if (p.executable && !(up.mode & 0o111)) return fail(`${p.path} is not executable`);
      if (p.contains !== undefined) {
        const text = probe.readUpper(p.path)?.data.toString('utf8') ?? '';
        if (!text.includes(p.contains)) return fail(`${p.path} does not contain "${p.contains}"`);
      }
      if (p.owner !== undefined) {
        const base = Number(/^\s*0\s+(\d+)/m.exec(probe.procText('uid_map'))?.[1]);
        if (up.uid !== base + p.owner) return fail(`${p.path} belongs to host uid ${up.uid}, that is uid ${up.uid - base} in the box, not ${p.owner}`);
        return pass(`${p.path}: uid ${p.owner} in the box is host uid ${up.uid} (${base} + ${p.owner})`);
      }
      const where = p.state === 'copied-up' ? 'copied up into the upper layer; the image copy is untouched' : 'in the upper layer only';
      return pass(`${p.path}: ${up.size} bytes, ${where}`);
    },
  },

  answer: {
    params: z.strictObject({
      path: absPath.default('/root/answer'),
      fact: z.enum(FACT_NAMES as [FactName, ...FactName[]]),
      arg: z.string().optional(),
      match: z.enum(['equals', 'contains', 'number']).default('equals'),
    }),
    summary: (p) => `your answer in ${p.path} matches the box's ${p.fact}`,
    async run(probe, p) {
      const file = probe.readUpper(p.path, 4096);
      if (!file) return fail(`write your answer into ${p.path}`);
      const answer = file.data.toString('utf8').trim();
      const fact = await readFact(p.fact, probe, p.arg);
      if (fact === null) return fail(`the box has no ${p.fact}${p.arg ? ` for "${p.arg}"` : ''} right now`);
      if (!answer) return fail(`${p.path} is empty`);
      return answerMatches(answer, fact, p.match) ? pass(`Right: ${fact}`) : fail(`"${answer.slice(0, 60)}" is not it yet`);
    },
  },

  'hostname-file': {
    params: z.strictObject({ path: absPath.default('/etc/hostname') }),
    summary: (p) => `${p.path} was changed, and the kernel's hostname was not`,
    async run(probe, p) {
      const host = (await probe.inNamespace('uts', ['uname', '-n'])).trim();
      const file = probe.upperStat(p.path) ? probe.readUpper(p.path, 4096)?.data.toString('utf8').trim() : undefined;
      if (file === undefined) return fail(`${p.path} is unchanged (still the image's copy)`);
      if (file === host) return fail(`${p.path} says "${file}", which is the hostname already: write another name`);
      return pass(`${p.path} says "${file.slice(0, 40)}" but the UTS namespace still says "${host}"`);
    },
  },

  process: {
    params: procParams,
    summary: (p: ProcParams) => `${procLabel(p, true)} is ${p.absent ? 'gone from' : 'in'} the box`,
    run(probe, p: ProcParams, memo) {
      const hits = matching(probe.processes(), p);
      if (!p.absent) return hits.length ? pass(describeProc(hits[0])) : fail(`no ${procLabel(p)} in the box`);
      if (hits.length) {
        memo.seen = true;
        return fail(`still there: ${describeProc(hits[0])}`);
      }
      if (p.seenFirst && !memo.seen) return fail(`there was no ${procLabel(p)} to get rid of on this step`);
      return pass(`no ${procLabel(p)} left`);
    },
  },

  chroot: {
    params: z.strictObject({ dir: absPath, escaped: z.boolean().default(false) }),
    summary: (p) => (p.escaped ? `a process chrooted into ${p.dir} has its cwd outside it` : `a process runs with ${p.dir} as its root`),
    run(probe, p) {
      const jail = probe.boxDirId(p.dir);
      if (!jail) return fail(`${p.dir} is not a directory in the box`);
      const jailed = probe.processes().filter((x) => x.state !== 'Z' && probe.rootIdOf(x.hostPid) === jail);
      if (!jailed.length) return fail(`no process has ${p.dir} as its root directory`);
      if (!p.escaped) return pass(`${describeProc(jailed[0])}, root directory ${p.dir}`);
      const out = jailed.find((x) => probe.cwdOutside(x.hostPid, jail) === true);
      return out ? pass(`${describeProc(out)}: root is ${p.dir}, yet its cwd is outside it`) : fail(`the jailed processes still have their cwd inside ${p.dir}`);
    },
  },

  'memory-usage': {
    params: z.strictObject({ minMiB: z.number().positive() }),
    summary: (p) => `the box's cgroup is charged at least ${p.minMiB} MiB`,
    async run(probe, p) {
      const s = await probe.stats();
      const cur = s.memory.current / MiB;
      return cur >= p.minMiB ? pass(`${cur.toFixed(1)} MiB charged to the box (limit ${(s.memory.limit / MiB).toFixed(0)} MiB)`) : fail(`${cur.toFixed(1)} MiB charged so far`);
    },
  },

  'oom-kill': {
    params: z.strictObject({}),
    summary: () => 'the kernel counted an OOM kill in the box since this step began',
    limit: 'memory',
    init: async (probe) => ({ base: (await probe.stats()).memory.oomKills }),
    async run(probe, _p, memo) {
      const s = await probe.stats();
      const n = s.memory.oomKills - (memo.base as number);
      return n > 0 ? pass(`${n} OOM kill(s) at the ${(s.memory.limit / MiB).toFixed(0)} MiB limit`) : fail(`no OOM kill yet (limit ${(s.memory.limit / MiB).toFixed(0)} MiB)`);
    },
  },

  'cpu-throttled': {
    params: z.strictObject({ minPeriods: z.number().int().positive().default(3) }),
    summary: (p) => `the box was throttled in at least ${p.minPeriods} cpu periods since this step began`,
    limit: 'cpu',
    init: async (probe) => ({ base: (await probe.stats()).cpu.nrThrottled }),
    async run(probe, p, memo) {
      const s = await probe.stats();
      const n = s.cpu.nrThrottled - (memo.base as number);
      return n >= p.minPeriods ? pass(`throttled in ${n} periods (quota ${s.cpu.quotaFraction} of a core)`) : fail(`throttled in ${n} periods so far`);
    },
  },

  'cpu-usage': {
    params: z.strictObject({ minSeconds: z.number().positive() }),
    summary: (p) => `the box used at least ${p.minSeconds} s of cpu since this step began`,
    init: async (probe) => ({ base: (await probe.stats()).cpu.usageUsec }),
    async run(probe, p, memo) {
      const used = ((await probe.stats()).cpu.usageUsec - (memo.base as number)) / 1e6;
      return used >= p.minSeconds ? pass(`${used.toFixed(2)} s of cpu used`) : fail(`${used.toFixed(2)} s of cpu used so far`);
    },
  },

  'pids-count': {
    params: z.strictObject({ min: z.number().int().positive() }),
    summary: (p) => `at least ${p.min} tasks are counted in the box's pids cgroup`,
    async run(probe, p) {
      const s = await probe.stats();
      return s.pids.current >= p.min ? pass(`${s.pids.current} of ${s.pids.max} tasks`) : fail(`${s.pids.current} of ${s.pids.max} tasks`);
    },
  },

  'pids-max-hit': {
    params: z.strictObject({}),
    summary: () => 'a fork was refused at the pids limit (pids.events "max") since this step began',
    limit: 'pids',
    init: (probe) => ({ base: pidsMaxEvents(probe) }),
    async run(probe, _p, memo) {
      const n = pidsMaxEvents(probe) - (memo.base as number);
      const s = await probe.stats();
      return n > 0 ? pass(`${n} fork(s) refused at pids.max = ${s.pids.max}`) : fail(`no fork refused yet (${s.pids.current} of ${s.pids.max} tasks)`);
    },
  },

  'pids-calm': {
    params: z.strictObject({ max: z.number().int().positive().default(3), seenAbove: z.number().int().positive().default(10) }),
    summary: (p) => `the box is back to at most ${p.max} tasks after more than ${p.seenAbove}`,
    async run(probe, p, memo) {
      const s = await probe.stats();
      if (s.pids.current > p.seenAbove) memo.seen = true;
      if (!memo.seen) return fail(`there were never more than ${p.seenAbove} tasks on this step (${s.pids.current} now)`);
      return s.pids.current <= p.max ? pass(`${s.pids.current} task(s) left; the shell survived`) : fail(`${s.pids.current} tasks still running`);
    },
  },

  'tcp-listen': {
    params: z.strictObject({ port: z.number().int().min(1).max(65535) }),
    summary: (p) => `a TCP socket listens on port ${p.port} in the box's network namespace`,
    run(probe, p) {
      const ports = listeningPorts(probe);
      if (!ports.has(p.port)) return fail(`nothing listens on ${p.port}${ports.size ? ` (listening: ${[...ports].join(', ')})` : ''}`);
      const onHost = listeningPorts(probe, true).has(p.port);
      return pass(`port ${p.port} listens in the box's network namespace; ${onHost ? `the host's own port ${p.port} is another socket` : `on the host nothing listens on ${p.port}`}`);
    },
  },

  'net-traffic': {
    params: z.strictObject({ dev: z.string().default('lo'), minPackets: z.number().int().positive().default(2) }),
    summary: (p) => `${p.dev} is up and carried at least ${p.minPackets} packets since this step began`,
    init: async (probe, p) => ({ base: await rxPackets(probe, p.dev) }),
    async run(probe, p, memo) {
      const link = await probe.inNamespace('net', ['ip', '-o', 'link', 'show', 'dev', p.dev]);
      if (!/[<,]UP[,>]/.test(link)) return fail(`${p.dev} is down`);
      const n = ((await rxPackets(probe, p.dev)) ?? 0) - ((memo.base as number | null) ?? 0);
      return n >= p.minPackets ? pass(`${p.dev} is up and received ${n} packets`) : fail(`${p.dev} is up; ${n} packets so far`);
    },
  },

  'sysv-shm': {
    params: z.strictObject({ otherAttached: z.boolean().default(false) }),
    summary: (p) => (p.otherAttached ? 'a second process attached the box\'s shared memory segment' : 'a System V shared memory segment exists in the box\'s IPC namespace'),
    async run(probe, p) {
      const segs = await shmSegments(probe);
      if (!segs.length) return fail('the box\'s IPC namespace has no shared memory segment');
      const seg = segs[0];
      const what = `key ${seg.key}, ${seg.size} bytes`;
      if (!p.otherAttached) {
        // The server's own IPC namespace is the host's: the same key there would be another object.
        const onHost = probe.hostText('/proc/sysvipc/shm').trim().split('\n').slice(1).filter((l) => l.trim().split(/\s+/)[0] === seg.key).length;
        const host = onHost ? `the host has ${onHost} other segment(s) with that key: different objects` : "the host's IPC namespace has no segment with that key";
        return pass(`segment ${what}, created by host pid ${seg.cpid}; ${host}`);
      }
      return seg.lpid !== seg.cpid ? pass(`segment ${what}: last attached by host pid ${seg.lpid}, not its creator`) : fail(`only the creator (host pid ${seg.cpid}) used segment ${what}`);
    },
  },

  teardown: {
    params: z.strictObject({}),
    summary: () => 'the box exited and the engine tore it down in order',
    states: ['running', 'exited'],
    run(probe) {
      const names = probe.events.map((e) => e.stage);
      const want = ['child_exit', 'umount_proc', 'umount_dev', 'namespaced_parent_exit', 'overlay_umount', 'cgroup_remove', 'cleanup_done'] as const;
      const missing = want.filter((s) => !names.includes(s));
      if (missing.length === want.length) return fail('the box is still running');
      if (missing.length) return fail(`teardown in progress: waiting for ${missing[0]}`);
      const order = want.map((s) => names.indexOf(s));
      const sorted = order.every((v, i) => i === 0 || v > order[i - 1]);
      return sorted ? pass(`torn down: ${want.join(' → ')}`) : fail('the teardown stages came out of order');
    },
  },
};

export function checkDef(type: string): CheckDef | undefined {
  if (Object.hasOwn(LAB_CHECKS, type)) return LAB_CHECKS[type];
  return Object.hasOwn(CHECKS, type) ? CHECKS[type] : undefined;
}
