// create.ts: create-to-exec latency of a box vs bwrap and runc run on the same image, interleaved; table + JSON.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createSandbox, defaultDeps } from '../server/engine/index.ts';
import type { EngineDeps } from '../server/engine/deps.ts';
import { defaultImagePath, ensureImage } from '../server/rootfs/index.ts';
import { criticalPath, stageRows, type BoxRun } from './lib/breakdown.ts';
import { CgroupPool } from './lib/fast-cgroups.ts';
import { bwrapArgv, bwrapHasOverlay, RuncHarness, timeExit, type Timed } from './lib/competitors.ts';
import { machineFacts, type MachineFacts } from './lib/machine.ts';
import { fmtMs, markdownTable, rotate, summarize, type Summary } from './lib/stats.ts';

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results');

export interface CreateOptions {
  n: number;
  /** Idle ms before every sample: a create on a quiet server, not one in a tight loop (see docs/performance.md). */
  gapMs: number;
  warmup: number;
  image?: string;
  log?: (line: string) => void;
}

/** Limits of a default box (server/engine/config.ts), given to runc too. */
const LIMITS = { memoryBytes: 256 * 2 ** 20, cpuQuotaUs: 50_000, cpuPeriodUs: 100_000, pids: 128 };

interface Metric {
  key: string;
  label: string;
  samples: number[];
}

export interface CreateResult {
  machine: MachineFacts;
  options: { n: number; gapMs: number; warmup: number; image: string };
  metrics: Record<string, { label: string; summary: Summary; samples: number[] }>;
  stages: ReturnType<typeof stageRows>;
  /** Median ms of the cgroup stages in each box variant (the prototypes change only those). */
  cgroupStages: Record<string, Record<string, number>>;
  criticalPath: ReturnType<typeof criticalPath>;
  leftovers: string[];
  /** Error messages of failed samples, by variant (each was retried). */
  failures: Record<string, string[]>;
  notes: string[];
  markdown: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const hr = () => process.hrtime.bigint();
const msSince = (t: bigint) => Number(hr() - t) / 1e6;

/** One box running /bin/true: times to createSandbox() resolve, to exit, and to destroy() resolve. */
async function boxSample(image: string, ids: string[], deps?: EngineDeps): Promise<BoxRun & { exitMs: number; fullMs: number }> {
  const t0 = hr();
  let firstEmit = null as { at: number; end: number } | null;
  const box = await createSandbox(
    { baseDir: image, stdio: 'pipe', shell: '/bin/true' },
    {
      onStage: (e) => void (firstEmit ??= { at: msSince(t0), end: e.t + e.durationMs }),
    },
    deps,
  );
  const createMs = msSince(t0);
  ids.push(box.id);
  const ex = await box.wait();
  const exitMs = msSince(t0);
  await box.destroy();
  const fullMs = msSince(t0);
  if (ex.status !== 0) throw new Error(`box ${box.id}: /bin/true exited with status ${ex.status}`);
  // The first event is emitted as its stage ends, so (emit time - its end on the engine clock) = clock zero.
  const offsetMs = firstEmit ? firstEmit.at - firstEmit.end : 0;
  return { events: [...box.events], offsetMs, createMs, exitMs, fullMs };
}

function checkExit(what: string, r: Timed): number {
  if (r.code !== 0) throw new Error(`${what} exited with ${r.code}: ${r.stderr.trim().slice(0, 400)}`);
  return r.ms;
}

/** Ids of our boxes that left a mount, a cgroup dir or a state dir behind. */
function leftoverOf(ids: readonly string[], poolPrefix: string): string[] {
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  const out: string[] = [];
  for (const id of ids) {
    if (mountinfo.includes(id)) out.push(`${id}: mount`);
    if (existsSync(`/run/boxlab/sandboxes/${id}`)) out.push(`${id}: state dir`);
    for (const c of ['pids', 'freezer', 'cpu', 'cpuacct'])
      if (existsSync(`/sys/fs/cgroup/${c}/boxlab/${id}`)) out.push(`${id}: ${c} cgroup`);
  }
  const pooled = existsSync('/sys/fs/cgroup/pids/boxlab')
    ? readdirSync('/sys/fs/cgroup/pids/boxlab').filter((d) => d.startsWith(poolPrefix))
    : [];
  for (const d of pooled) out.push(`${d}: pooled pids cgroup`);
  return out;
}

export async function runCreateBench(opts: CreateOptions): Promise<CreateResult> {
  const log = opts.log ?? (() => {});
  const image = opts.image ?? defaultImagePath();
  await ensureImage(image, () => {});
  const notes: string[] = [];
  const overlay = bwrapHasOverlay();
  if (!overlay)
    notes.push(
      'bwrap has no --overlay-src/--tmp-overlay (added in 0.9): it binds the image read-only instead, and has no cgroup support at all.',
    );
  const runc = new RuncHarness(image, LIMITS);
  const base = await defaultDeps();
  const pool = new CgroupPool({ memoryBytes: LIMITS.memoryBytes, cpuFraction: 0.5, pids: LIMITS.pids }, 2);
  const poolDeps = pool.deps(base);
  const ids: string[] = [];
  const m: Record<string, Metric> = {};
  const metric = (key: string, label: string) => (m[key] ??= { key, label, samples: [] });
  const runsBy: { boxlab: BoxRun[]; 'boxlab-pool': BoxRun[] } = { boxlab: [], 'boxlab-pool': [] };
  const variants: Record<string, () => Promise<void>> = {
    boxlab: async () => {
      const s = await boxSample(image, ids);
      runsBy.boxlab.push(s);
      metric('boxlab.create', 'boxlab: createSandbox() resolved (exec done)').samples.push(s.createMs);
      metric('boxlab.exit', 'boxlab: to /bin/true exit').samples.push(s.exitMs);
      metric('boxlab.full', 'boxlab: full cycle incl. destroy()').samples.push(s.fullMs);
    },
    'boxlab-pool': async () => {
      await pool.fill(); // off the clock: a server refills while idle
      const s = await boxSample(image, ids, poolDeps);
      runsBy['boxlab-pool'].push(s);
      metric('boxlab-pool.create', 'prototype: boxlab + pre-made cgroups: createSandbox()').samples.push(s.createMs);
    },
    bwrap: async () => {
      const ms = checkExit('bwrap', await timeExit(bwrapArgv(image, 'ro-bind')));
      metric('bwrap', 'bwrap --ro-bind image (no overlay, no cgroups): to exit').samples.push(ms);
    },
    ...(overlay
      ? {
          'bwrap-overlay': async () => {
            const ms = checkExit('bwrap --tmp-overlay', await timeExit(bwrapArgv(image, 'tmp-overlay')));
            metric('bwrap-overlay', 'bwrap --tmp-overlay (no cgroups): to exit').samples.push(ms);
          },
        }
      : {}),
    runc: async () => {
      const ms = checkExit('runc run', await runc.run());
      metric('runc', 'runc run (cgroups v1, ro image, no overlay): to exit incl. delete').samples.push(ms);
    },
  };
  const names = Object.keys(variants);
  const failures: Record<string, string[]> = {};
  /** A failed sample is counted and retried; its time is not in the table. Three in a row end the run. */
  const sample = async (name: string) => {
    for (let attempt = 1; ; attempt++) {
      try {
        const run = variants[name];
        if (!run) throw new Error(`no variant ${name}`);
        return await run();
      } catch (err) {
        (failures[name] ??= []).push((err as Error).message);
        if (attempt >= 3) throw new Error(`${name} failed 3 times in a row: ${(err as Error).message}`);
      }
    }
  };
  try {
    // Warm-up: lazy imports, the seccomp filter compile, page cache of bwrap/runc/busybox; not measured.
    for (let i = 0; i < opts.warmup; i++) for (const n of names) await sample(n);
    for (const x of Object.values(m)) x.samples.length = 0;
    for (const runs of Object.values(runsBy)) runs.length = 0;
    for (let round = 0; round < opts.n; round++) {
      for (const n of rotate(names, round)) {
        await sleep(opts.gapMs);
        await sample(n);
      }
      if ((round + 1) % 25 === 0 || round + 1 === opts.n) log(`create: round ${round + 1}/${opts.n}`);
    }
  } finally {
    runc.cleanup();
    await pool.drain();
  }
  const leftovers = leftoverOf(ids, `bxpool-${process.pid}-`);
  const metrics = Object.fromEntries(
    Object.values(m).map((x) => [x.key, { label: x.label, summary: summarize(x.samples), samples: x.samples }]),
  );
  const result: Omit<CreateResult, 'markdown'> = {
    machine: machineFacts(),
    options: { n: opts.n, gapMs: opts.gapMs, warmup: opts.warmup, image },
    metrics,
    stages: stageRows(runsBy.boxlab),
    criticalPath: criticalPath(runsBy.boxlab),
    cgroupStages: Object.fromEntries(
      Object.entries(runsBy).map(([k, runs]) => [
        k,
        Object.fromEntries(
          stageRows(runs)
            .filter((x) => x.stage.startsWith('cgroup_'))
            .map((x) => [x.stage, x.duration]),
        ),
      ]),
    ),
    leftovers,
    failures,
    notes,
  };
  return { ...result, markdown: renderCreate(result) };
}

export function renderCreate(r: Omit<CreateResult, 'markdown'>): string {
  const rows = Object.values(r.metrics).map((x) => [
    x.label,
    ...[x.summary.p50, x.summary.p90, x.summary.p99, x.summary.mean, x.summary.min, x.summary.max].map(fmtMs),
  ]);
  const bw = r.metrics.bwrap?.summary.p50;
  const ours = r.metrics['boxlab.create']?.summary.p50;
  const out = [
    `### Create latency (ms, n=${r.options.n} each, interleaved rounds, ${r.options.gapMs} ms idle before each sample)`,
    '',
    markdownTable(['variant', 'p50', 'p90', 'p99', 'mean', 'min', 'max'], rows),
    '',
    bw !== undefined && ours !== undefined
      ? `boxlab create p50 ${fmtMs(ours)} ms vs bwrap p50 ${fmtMs(bw)} ms: ${ours < bw ? 'below' : 'NOT below'} bubblewrap's.`
      : '',
    ...r.notes.map((n) => `Note: ${n}`),
    ...Object.entries(r.failures).map(([k, v]) => `FAILED samples of ${k}: ${v.length} (retried, not timed); first: ${v[0]}`),
    '',
    "### Where a box's create time goes (median of each stage; start = ms since createSandbox() was called)",
    '',
    markdownTable(
      ['stage', 'role', 'start', 'duration'],
      r.stages.map((s) => [s.stage, s.role, fmtMs(s.start), fmtMs(s.duration)]),
      ['l', 'l', 'r', 'r'],
    ),
    '',
    '### cgroup stages by variant (median ms)',
    '',
    markdownTable(
      ['variant', 'cgroup_create', 'cgroup_attach', 'cgroup_remove'],
      Object.entries(r.cgroupStages).map(([k, v]) => [
        k,
        fmtMs(v.cgroup_create ?? NaN),
        fmtMs(v.cgroup_attach ?? NaN),
        fmtMs(v.cgroup_remove ?? NaN),
      ]),
    ),
    '',
    '### Critical path to createSandbox() resolve (medians)',
    '',
    markdownTable(
      ['segment', 'ms', 'what'],
      r.criticalPath.map((s) => [s.name, fmtMs(s.ms), s.what]),
      ['l', 'r', 'l'],
    ),
    '',
    r.leftovers.length
      ? `LEFTOVERS: ${r.leftovers.join(', ')}`
      : `Leak check: no mount, cgroup or state dir of the ${r.options.n + r.options.warmup} boxes left.`,
  ];
  return out.join('\n');
}

export function saveResult(name: string, data: object, quick: boolean): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = new Date().toISOString().replace(/:/g, '-').replace(/\..*$/, '');
  const file = join(RESULTS_DIR, `${name}-${stamp}${quick ? '-quick' : ''}.json`);
  writeFileSync(file, JSON.stringify(data, null, 1) + '\n');
  return file;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const quick = process.argv.includes('--quick');
  const nArg = process.argv.find((a) => a.startsWith('--n='));
  const r = await runCreateBench({
    n: nArg ? Number(nArg.slice(4)) : quick ? 30 : 200,
    gapMs: 50,
    warmup: 3,
    log: (l) => console.error(l),
  });
  console.log(r.markdown);
  console.error(`results: ${saveResult('create', r, quick)}`);
}
