// Proves lessons in real boxes: before the step's action its check is red, after each `wrong` it stays red (twice,
// once the commands had time to finish), after the solution it turns green. Bomb steps run only after the box's own
// limit was read back. Used by `boxlab lesson check` and by the root test of the built-in course. Needs root.
import fs from 'node:fs';
import { createSandbox } from '../engine/index.ts';
import type { SandboxHandle } from '../engine/types.ts';
import type { Memo } from './checks.ts';
import type { LoadedLesson } from './loader.ts';
import { RealProbe } from './probe.ts';
import { defaultOf } from '../protocol/settings.ts';
import { settingsFor, type Limits } from './settings.ts';

export interface StepProof {
  slug: string;
  step: number;
  line: number;
  check: string;
  /** Red before the action, red after every wrong (null: the step has no wrong), green after the solution. */
  redBefore: boolean;
  redAfterWrong: boolean | null;
  green: boolean;
  ms: number | null;
  message: string;
}

export interface LessonProof {
  slug: string;
  file: string;
  steps: StepProof[];
  /** Mounts or cgroup directories of the box still there after it was destroyed. */
  leftovers: string[];
  error?: string;
  /** Why the lesson could not be proved on this host (front matter `needs`), when it could not. */
  skipped?: string;
}

export interface ProveOptions {
  baseDir: string;
  limits?: Limits;
  /** Check cost samples per check type, in ms. */
  timings?: Record<string, number[]>;
  log?: (line: string) => void;
  solutionTimeoutMs?: number;
}

/** The server's defaults (server/protocol/settings.ts): a proof runs under what a learner gets by default. */
export const DEFAULT_LIMITS: Limits = {
  memoryBytes: defaultOf('memoryBytes'),
  cpuFraction: defaultOf('cpuFraction'),
  pids: defaultOf('pids'),
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Types lines like a learner, one per prompt-ish pause. */
async function type(box: SandboxHandle, lines: string[]): Promise<void> {
  for (const line of lines) {
    box.write(`${line}\n`);
    await sleep(150);
  }
}

/** The box's cgroup directories on the host (to verify they are removed afterwards). */
export function cgroupDirs(pid: number): string[] {
  const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  const dirs: string[] = [];
  for (const line of fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n')) {
    const [, ctrls, p = ''] = line.split(':');
    if (!p.includes('boxlab')) continue;
    const m = mounts.find((x) =>
      ctrls ? / - cgroup /.test(x) && x.split(' - ')[1]?.split(' ')[2]?.split(',').includes(ctrls.split(',')[0]!) : / - cgroup2 /.test(x),
    );
    if (m) dirs.push(`${m.split(' ')[4]}${p.slice(m.split(' ')[3] === '/' ? 0 : m.split(' ')[3]!.length)}`);
  }
  return dirs;
}

export async function proveLesson(l: LoadedLesson, opts: ProveOptions): Promise<LessonProof> {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const want = settingsFor(l.settings, limits);
  const proof: LessonProof = { slug: l.lesson.slug, file: l.file, steps: [], leftovers: [] };
  const box = await createSandbox({
    baseDir: opts.baseDir,
    stdio: 'pty',
    shell: '/bin/sh',
    args: ['-l'],
    rows: 40,
    cols: 160,
    hostname: 'boxlab',
    memoryBytes: want.memoryBytes ?? limits.memoryBytes,
    cpuFraction: want.cpuFraction ?? limits.cpuFraction,
    pids: want.pids ?? limits.pids,
    lab: want.lab,
  });
  let out = '';
  box.on('data', (b: Buffer) => (out = (out + b.toString('utf8')).slice(-6000)));
  const dirs = cgroupDirs(box.pids.init);
  const probe = new RealProbe(box);
  let openedAt = Date.now();
  const timed = async (check: LoadedLesson['specs'][number]['check'], memo: Memo) => {
    const t0 = performance.now();
    const r = await check.run(probe, memo, { openedAt });
    ((opts.timings ??= {})[check.type] ??= []).push(performance.now() - t0);
    return r;
  };
  try {
    await sleep(300);
    if (l.lesson.needs?.includes('cgroup-v2') && (await box.stats()).cgroupVersion !== 2) {
      proof.skipped = 'needs cgroup v2 (a subtree delegated to the box); this host keeps memory, cpu and pids on cgroup v1';
      return proof;
    }
    for (const [i, spec] of l.specs.entries()) {
      const row: StepProof = {
        slug: l.lesson.slug,
        step: i + 1,
        line: spec.line,
        check: spec.check.type,
        redBefore: false,
        redAfterWrong: null,
        green: false,
        ms: null,
        message: '',
      };
      proof.steps.push(row);
      openedAt = Date.now(); // as the runner does: what earlier steps left is not this step's work
      const memo = await spec.check.init(probe);
      const before = await timed(spec.check, memo);
      row.redBefore = !before.ok;
      row.message = before.ok ? `passes before the learner did anything: ${before.message}` : '';
      if (spec.wrong.length) {
        await type(box, spec.wrong);
        row.redAfterWrong = true;
        // A wrong action must not pass now, nor a little later when its commands have finished.
        for (const wait of [800, 1500]) {
          await sleep(wait);
          const r = await timed(spec.check, memo);
          if (r.ok && row.redAfterWrong) {
            row.redAfterWrong = false;
            row.message ||= `the wrong action "${spec.wrong.join('; ')}" passed: ${r.message}`;
          }
        }
      }
      if (spec.check.limit) {
        // Bombs only in a box whose limit was read back from its own cgroup.
        const s = await box.stats();
        const ok =
          spec.check.limit === 'memory'
            ? s.memory.limit === (want.memoryBytes ?? limits.memoryBytes)
            : spec.check.limit === 'pids'
              ? s.pids.max === (want.pids ?? limits.pids)
              : s.cpu.quotaFraction === (want.cpuFraction ?? limits.cpuFraction);
        if (!ok) throw new Error(`step ${i + 1}: the box's ${spec.check.limit} limit is not the one asked for; the solution was not run`);
      }
      await type(box, spec.solution);
      const t0 = Date.now();
      let last = before;
      while (Date.now() - t0 < (opts.solutionTimeoutMs ?? 25_000)) {
        last = await timed(spec.check, memo);
        if (last.ok) break;
        await sleep(200);
      }
      row.green = last.ok;
      row.ms = last.ok ? Date.now() - t0 : null;
      if (!last.ok) row.message ||= `the solution did not pass: ${last.message}\n--- screen ---\n${out.slice(-1200)}`;
      else row.message ||= last.message;
      opts.log?.(
        `${l.lesson.slug} step ${i + 1} (${spec.check.type}): ${row.redBefore && row.redAfterWrong !== false && row.green ? 'proved' : 'FAILED'}: ${row.message.split('\n')[0]}`,
      );
      await type(box, spec.cleanup);
    }
  } catch (err) {
    proof.error = (err as Error).message;
  } finally {
    await box.destroy();
    if (fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(box.id)) proof.leftovers.push(`a mount of ${box.id}`);
    for (const d of dirs) if (fs.existsSync(d)) proof.leftovers.push(d);
  }
  return proof;
}

export const stepProved = (s: StepProof): boolean => s.redBefore && s.redAfterWrong !== false && s.green;
export const lessonProved = (p: LessonProof): boolean => !p.error && !p.leftovers.length && p.steps.length > 0 && p.steps.every(stepProved);

/** The summary table: one row per step. */
export function proofTable(proofs: LessonProof[]): string {
  const mark = (b: boolean | null) => (b === null ? '-' : b ? 'yes' : 'NO');
  const rows = [['lesson', 'step', 'check', 'red before', 'red after wrong', 'green after solution', 'ms']];
  for (const p of proofs) {
    for (const s of p.steps)
      rows.push([
        p.slug,
        String(s.step),
        s.check.slice(0, 40),
        mark(s.redBefore),
        mark(s.redAfterWrong),
        mark(s.green),
        s.ms === null ? '-' : String(s.ms),
      ]);
    if (p.error) rows.push([p.slug, '!', `error: ${p.error}`.slice(0, 80), '', '', '', '']);
    if (p.leftovers.length) rows.push([p.slug, '!', `left behind: ${p.leftovers.join(', ')}`.slice(0, 80), '', '', '', '']);
  }
  const w = rows[0]!.map((_, j) => Math.max(...rows.map((r) => (r[j] ?? '').length)));
  return rows
    .map(
      (r, i) =>
        r
          .map((c, j) => c.padEnd(w[j] ?? 0))
          .join('  ')
          .trimEnd() + (i === 0 ? `\n${w.map((n) => '-'.repeat(n)).join('  ')}` : ''),
    )
    .join('\n');
}
