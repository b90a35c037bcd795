// cli.ts (section): the CLI as a whole process, `boxlab run -- /bin/true`, against `runc run` and bwrap on the same
// busybox image, rounds interleaved, on the machine as it is and under a CPU load this section generates.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { defaultImagePath, ensureImage } from '../../server/rootfs/index.ts';
import { bwrapArgv, RuncHarness, timeExit, type Timed } from '../lib/competitors.ts';
import { fmtMs, markdownTable, median, rotate, summarize, type Summary } from '../lib/stats.ts';
import type { Section } from './types.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'boxlab.js');
/** runc gets the limits a box gets by default (bench/create.ts uses the same). */
const LIMITS = { memoryBytes: 256 * 2 ** 20, cpuQuotaUs: 50_000, cpuPeriodUs: 100_000, pids: 128 };

interface Phase {
  load: string;
  loadavgBefore: number[];
  loadavgAfter: number[];
  variants: Record<string, Summary & { samples: number[] }>;
  /** Median of each BOXLAB_TIMING phase of `boxlab run` (ms). */
  breakdown: Record<string, number>;
}

function ok(what: string, r: Timed): number {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}: ${r.stderr.trim().slice(0, 300)}`);
  return r.ms;
}

/** Busy loops in their own processes, one per CPU times `perCpu`, at normal priority: the "loaded" machine. */
function startLoad(perCpu: number): ChildProcess[] {
  return Array.from({ length: cpus().length * perCpu }, () => spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' }));
}

/** `BOXLAB_BENCH_BEFORE=/path/bin/boxlab.js`: also time an older checkout's CLI (e.g. the tsx one) in the same rounds. */
const BEFORE = process.env.BOXLAB_BENCH_BEFORE;

async function phase(load: string, n: number, image: string, log: (l: string) => void, prefix: string[] = []): Promise<Phase> {
  const runDir = `/run/boxlab-bench-cli-${process.pid}`;
  mkdirSync(runDir, { recursive: true });
  const env = { ...process.env, BOXLAB_RUN: runDir, BOXLAB_TIMING: '1' };
  const runc = new RuncHarness(image, LIMITS);
  const samples: Record<string, number[]> = {};
  const timings: Record<string, number[]> = {};
  const add = (k: string, ms: number): void => {
    (samples[k] ??= []).push(ms);
  };
  const time = (argv: string[], e?: NodeJS.ProcessEnv) => timeExit([...prefix, ...argv], e);
  const variants: Record<string, (round: number) => Promise<void>> = {
    'boxlab run': async () => {
      const r = await time([process.execPath, BIN, 'run', '--', '/bin/true'], env);
      add('boxlab run', ok('boxlab run', r));
      const line = r.stderr.split('\n').find((l) => l.startsWith('boxlab-timing '));
      if (line) for (const [k, v] of Object.entries(JSON.parse(line.slice(14)) as Record<string, number>)) (timings[k] ??= []).push(v);
    },
    'runc run': async () => add('runc run', ok('runc run', await runc.run(prefix))),
    bwrap: async () => add('bwrap', ok('bwrap', await time(bwrapArgv(image, 'ro-bind')))),
    'node -e 0': async () => add('node -e 0', ok('node', await time([process.execPath, '-e', '0']))),
    ...(BEFORE
      ? {
          'before: boxlab run (tsx)': async () =>
            add('before: boxlab run (tsx)', ok('before', await time([process.execPath, BEFORE, 'run', '--', '/bin/true'], env))),
        }
      : {}),
    // npm's own start-up on top; every 5th round only (it is slow and says nothing about boxlab's code).
    'npx boxlab run': async (round) => {
      if (round % 5 === 0)
        add(
          'npx boxlab run',
          ok('npx', await time(['npx', '--no-install', 'boxlab', 'run', '--', '/bin/true'], { ...env, BOXLAB_TIMING: '' })),
        );
    },
  };
  const runs = Object.values(variants);
  const before = loadavg();
  try {
    for (const run of runs) await run(0); // warm-up: page cache, dist/ build check; not counted
    for (const xs of Object.values(samples)) xs.length = 0;
    for (const xs of Object.values(timings)) xs.length = 0;
    for (let round = 0; round < n; round++) {
      for (const run of rotate(runs, round)) await run(round);
      if ((round + 1) % 10 === 0) log(`cli (${load}): round ${round + 1}/${n}, load ${(loadavg()[0] ?? 0).toFixed(2)}`);
    }
  } finally {
    runc.cleanup();
    rmSync(runDir, { recursive: true, force: true });
  }
  return {
    load,
    loadavgBefore: before,
    loadavgAfter: loadavg(),
    variants: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, { ...summarize(v), samples: v }])),
    breakdown: Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, median(v)])),
  };
}

export function renderCli(phases: Phase[]): string {
  const out: string[] = [];
  for (const p of phases) {
    const v = p.variants;
    const ratio = (a: string, b: string) => (v[a] && v[b] ? (v[a].p50 / v[b].p50).toFixed(2) + 'x' : 'n/a');
    out.push(
      `### ${p.load} (load average ${p.loadavgBefore.map((x) => x.toFixed(2)).join(' ')} before, ` +
        `${p.loadavgAfter.map((x) => x.toFixed(2)).join(' ')} after; ms, interleaved rounds)`,
      '',
    );
    out.push(
      markdownTable(
        ['variant', 'n', 'p50', 'p90', 'mean', 'min', 'max', 'p50 / runc run'],
        Object.entries(v).map(([k, s]) => [k, String(s.n), ...[s.p50, s.p90, s.mean, s.min, s.max].map(fmtMs), ratio(k, 'runc run')]),
      ),
    );
    out.push(
      '',
      `boxlab run p50 / runc run p50 = ${ratio('boxlab run', 'runc run')}; / bwrap = ${ratio('boxlab run', 'bwrap')}; ` +
        `before (tsx) / now = ${ratio('before: boxlab run (tsx)', 'boxlab run')}; goal (at most runc run's): ${v['boxlab run'] && v['runc run'] && v['boxlab run'].p50 <= v['runc run'].p50 ? 'met' : 'NOT met'}.`,
      '',
    );
    out.push("Where `boxlab run`'s time goes (median ms of each BOXLAB_TIMING phase; each is the time since the one before):", '');
    out.push(
      markdownTable(
        ['phase', 'ms'],
        Object.entries(p.breakdown).map(([k, ms]) => [k, fmtMs(ms)]),
      ),
      '',
    );
  }
  return out.join('\n');
}

export const cliSection: Section = {
  name: 'cli',
  title: 'The CLI as a whole process: boxlab run vs runc run vs bwrap',
  async run({ quick, log }) {
    const image = defaultImagePath();
    await ensureImage(image, () => {});
    const n = quick ? 8 : 30;
    const phases = [await phase('machine as it is', n, image, log)];
    // Other work on a shared machine cannot be stopped; at nice -15 every variant gets the CPU first, which is
    // as close to a quiet machine as the bench can get (the same for every variant, children included).
    phases.push(
      await phase('every variant at nice -15 (a quieter machine, as far as the bench can make one)', n, image, log, ['nice', '-n', '-15']),
    );
    const burners = startLoad(2);
    try {
      phases.push(await phase(`under load: ${burners.length} busy loops (2 per CPU)`, n, image, log));
    } finally {
      for (const b of burners) b.kill('SIGKILL');
    }
    return { markdown: renderCli(phases), json: { n, bin: BIN, before: BEFORE ?? null, phases } };
  },
};
