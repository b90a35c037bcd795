// soak.ts: `npm run soak [-- --runs=3] [--only=density,burst,churn,crash,attack,hostile] [--no-save] [--svg=DIR]`:
// the long load and fault runs (200 sessions, 2000 cycles, 50-session crash, bombs, hostile clients), each repeated,
// reported as medians with the per-run values; JSON to bench/results/soak-<date>.json. Loopback only; every run ends.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { svgChart } from './lib/load-svg.ts';
import { failOn, sleep } from './lib/load-typist.ts';
import { machineFacts } from './lib/machine.ts';
import { fmtMs, markdownTable, median } from './lib/stats.ts';
import { ATTACK_FULL, attackMarkdown, attackProblems, runAttack, type AttackResult } from './sections/fault-attack.ts';
import { CRASH_FULL, crashMarkdown, crashProblems, runCrash, type CrashResult } from './sections/fault-crash.ts';
import { HOSTILE_FULL, hostileMarkdown, hostileProblems, runHostile, type HostileResult } from './sections/fault-hostile.ts';
import { BURST_FULL, burstMarkdown, burstProblems, runBurst, type BurstResult } from './sections/load-burst.ts';
import { CHURN_FULL, churnMarkdown, churnProblems, runChurn, type ChurnResult } from './sections/load-churn.ts';
import { DENSITY_FULL, densityMarkdown, densityProblems, runDensity, type DensityResult } from './sections/load-density.ts';

const args = process.argv.slice(2);
const opt = (k: string) => args.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3);
const runs = Number(opt('runs') ?? 3);
const only = opt('only')?.split(',');
const svgDir = opt('svg');
const log = (l: string) => console.error(`[soak] ${l}`);
const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results');

type Metric<R> = [label: string, get: (r: R) => number, fmt?: (v: number) => string];
interface Scenario<R> {
  run(): Promise<R>;
  markdown(r: R): string;
  problems(r: R): (string | false | null | undefined)[];
  metrics: Metric<R>[];
}
const f0 = (v: number) => (Number.isFinite(v) ? v.toFixed(0) : 'n/a');
const f1 = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : 'n/a');
const mib = (kib: number) => f1(kib / 1024);
const late = (l: { p99: number } | undefined) => (l ? Math.max(0, l.p99 - 10) : NaN);

// biome-ignore lint/suspicious/noExplicitAny: each scenario has its own result type; run() and report() pair them
const scenarios: Record<string, Scenario<any>> = {
  density: {
    run: () => runDensity(DENSITY_FULL, log),
    markdown: densityMarkdown,
    problems: densityProblems,
    metrics: [
      ['sessions held (of 200)', (r) => r.held, f0],
      ['echo p99, base (ms)', (r) => r.echo.base.p99, fmtMs],
      ['echo p99, ramp (ms)', (r) => r.echo.ramp.p99, fmtMs],
      ['echo p99, steady (ms)', (r) => r.echo.steady.p99, fmtMs],
      ['echo p99 steady ÷ base', (r) => r.echo.steady.p99 / r.echo.base.p99, (v) => v.toFixed(2)],
      ['echo p50, steady (ms)', (r) => r.echo.steady.p50, fmtMs],
      ['create p50 to prompt, under load (ms)', (r) => r.create.prompt.p50, fmtMs],
      ['create p99 to prompt, under load (ms)', (r) => r.create.prompt.p99, fmtMs],
      ['server RSS per session (KiB)', (r) => r.server.rssPerSessionKiB, f0],
      ['server RSS with all held (MiB)', (r) => r.server.rssSteadyKiB, mib],
      ['server CPU, steady (% of a core)', (r) => r.server.cpuSteadyPct, f0],
      ['server loop lateness p99, steady (ms)', (r) => late(r.loop.steady), f0],
      ['idle-process lateness p99, steady (ms)', (r) => late(r.noise.steady), f0],
      ['per box: cgroup memory.usage (KiB)', (r) => r.perBox['cgroup memory.usage KiB'], f0],
      ['per box: of which kernel (memory.kmem.usage, KiB)', (r) => r.perBox['cgroup memory.kmem.usage KiB'], f0],
      ['per box: nsexec + shell PSS (KiB)', (r) => r.perBox['nsexec + shell PSS KiB'], f0],
      ['per box: MemAvailable drop (KiB)', (r) => r.perBox['meminfo MemAvailable KiB'], f0],
      ['per box: Slab (KiB)', (r) => r.perBox['meminfo Slab KiB'], f0],
      ['per box: PageTables (KiB)', (r) => r.perBox['meminfo PageTables KiB'], f0],
      ['per box: KernelStack (KiB)', (r) => r.perBox['meminfo KernelStack KiB'], f0],
      ['SIGTERM with all held: shutdown (ms)', (r) => r.shutdown.ms, f0],
    ] as Metric<DensityResult>[],
  },
  burst: {
    run: async () => [await runBurst(BURST_FULL[0], log), await runBurst(BURST_FULL[1], log)],
    markdown: burstMarkdown,
    problems: (rs: BurstResult[]) => rs.flatMap(burstProblems),
    metrics: BURST_FULL.flatMap((p, i): Metric<BurstResult[]>[] => {
      const nth = (rs: BurstResult[]) => rs[i]!; // run() returns one result per BURST_FULL entry, in order
      return [
        [`cap ${p.cap}: served`, (rs) => nth(rs).served, f0],
        [`cap ${p.cap}: refused (503)`, (rs) => nth(rs).refused, f0],
        [`cap ${p.cap}: hung or failed`, (rs) => nth(rs).hung + nth(rs).createFailed.length + nth(rs).errors.length, f0],
        [`cap ${p.cap}: create p50 to prompt (ms)`, (rs) => nth(rs).prompt.p50, fmtMs],
        [`cap ${p.cap}: create p99 to prompt (ms)`, (rs) => nth(rs).prompt.p99, fmtMs],
        [`cap ${p.cap}: POST answer p99 (ms)`, (rs) => nth(rs).post.p99, fmtMs],
        [`cap ${p.cap}: all served ready after (ms)`, (rs) => nth(rs).lastReadyMs, f0],
      ];
    }),
  },
  churn: {
    run: () => runChurn(CHURN_FULL, log),
    markdown: churnMarkdown,
    problems: churnProblems,
    metrics: [
      ['cycles ok (of 2000)', (r) => r.byMode.exit + r.byMode.close + r.byMode.reset, f0],
      ['create p50 to prompt (ms)', (r) => r.create.p50, fmtMs],
      ['create p99 to prompt (ms)', (r) => r.create.p99, fmtMs],
      ['cycles per second', (r) => r.done / (r.wallMs / 1000), f1],
      ['server RSS idle, start (MiB)', (r) => r.start.rssKiB, mib],
      ['server RSS idle, end (MiB)', (r) => r.end.rssKiB, mib],
      ['server RSS end ÷ start', (r) => r.end.rssKiB / r.start.rssKiB, (v) => v.toFixed(2)],
      ['heap used after GC, start (MiB)', (r) => r.heapStart.heapUsed / 1024, mib],
      ['heap used after GC, end (MiB)', (r) => r.heapEnd.heapUsed / 1024, mib],
      ['server fds idle, start', (r) => r.start.fds, f0],
      ['server fds idle, end', (r) => r.end.fds, f0],
      [
        'leftover mounts + cgroups + processes + state + slots',
        (r) =>
          r.leftovers.mounts.length +
          r.leftovers.cgroups.length +
          r.leftovers.processes.length +
          r.leftovers.stateDirs.length +
          r.leftovers.slots.length,
        f0,
      ],
    ] as Metric<ChurnResult>[],
  },
  crash: {
    run: () => runCrash(CRASH_FULL, log),
    markdown: crashMarkdown,
    problems: crashProblems,
    metrics: [
      ['live sessions at the kill', (r) => r.live, f0],
      ['mounts left by the crash', (r) => r.afterKill1s.mounts.length, f0],
      ['cgroup dirs left by the crash', (r) => r.afterKill1s.cgroups.length, f0],
      ['live processes 1 s after the kill', (r) => r.afterKill1s.processes.length, f0],
      ['restart to listening (ms)', (r) => r.restartMs, f0],
      ['sweep (ms)', (r) => r.sweepMs, f0],
      [
        'left after the restart',
        (r) =>
          r.afterRestart.mounts.length +
          r.afterRestart.cgroups.length +
          r.afterRestart.processes.length +
          r.afterRestart.stateDirs.length +
          r.afterRestart.slots.length,
        f0,
      ],
    ] as Metric<CrashResult>[],
  },
  attack: {
    run: () => runAttack(ATTACK_FULL, log),
    markdown: attackMarkdown,
    problems: attackProblems,
    metrics: [
      ["users' echo p99 before (ms)", (r) => r.echo.base.p99, fmtMs],
      ["users' echo p99 during the attack (ms)", (r) => r.echo.attack.p99, fmtMs],
      ['echo p99 attack ÷ before', (r) => r.echo.attack.p99 / r.echo.base.p99, (v) => v.toFixed(2)],
      ['server loop lateness p99, attack (ms)', (r) => late(r.loop.attack), f0],
      ['idle-process lateness p99, attack (ms)', (r) => late(r.noise.attack), f0],
      ['server CPU during the attack (% of a core)', (r) => r.server.cpuAttackPct, f0],
      ['server RSS max (MiB)', (r) => r.server.rssMaxKiB, mib],
      ['users still running (of 20)', (r) => r.usersAlive, f0],
    ] as Metric<AttackResult>[],
  },
  hostile: {
    run: () => runHostile(HOSTILE_FULL, log),
    markdown: hostileMarkdown,
    problems: hostileProblems,
    metrics: [
      ['cases answered as promised', (r) => r.rows.filter((x) => x.ok).length, f0],
      ["others' echo p99 before (ms)", (r) => r.echo.base.p99, fmtMs],
      ["others' echo p99, malformed input (ms)", (r) => r.echo.fast.p99, fmtMs],
      ["others' echo p99, slow clients (ms)", (r) => r.echo.slow.p99, fmtMs],
      ["others' echo p99, connection flood (ms)", (r) => r.echo.flood.p99, fmtMs],
      ['server RSS max (MiB)', (r) => r.server.rssMaxKiB, mib],
      ['server RSS at the end (MiB)', (r) => r.server.rssEndKiB, mib],
      ['never-reads-but-pongs client: bytes queued for it', (r) => r.slow.find((x) => x.case.includes('pongs'))?.bytes ?? NaN, f0],
    ] as Metric<HostileResult>[],
  },
};

/** Waits (at most 2 minutes) for the 1-minute load average to fall under 3 on this 2-CPU machine. */
async function quiet(): Promise<number[]> {
  for (let i = 0; i < 12 && (os.loadavg()[0] ?? 0) > 3; i++) {
    if (i === 0) log(`load ${(os.loadavg()[0] ?? 0).toFixed(1)}: waiting (up to 2 min) for a quieter machine`);
    await sleep(10_000);
  }
  return os.loadavg();
}

if (process.getuid?.() !== 0) {
  console.error('the soak makes real sandboxes, cgroups and mounts: run it as root');
  process.exit(2);
}
const m = machineFacts();
const out: string[] = [
  `# Boxlab soak (${runs} runs each)`,
  '',
  `${m.date} · ${m.kernel} · ${m.cpus} × ${m.cpu} · ${m.memGiB} GiB · Node ${m.node}`,
  '',
  `Command: \`npm run soak -- ${args.join(' ')}\``,
];
const all: Record<string, { load: number[]; result: unknown }[]> = {};
let failed = false;
for (const [name, sc] of Object.entries(scenarios)) {
  if (only && !only.includes(name)) continue;
  const results: unknown[] = [];
  all[name] = [];
  const details: string[] = [];
  for (let i = 0; i < runs; i++) {
    const load = await quiet();
    log(`${name}: run ${i + 1}/${runs} (load ${load.map((x) => x.toFixed(1)).join(' ')})`);
    const t0 = performance.now();
    try {
      const r = await sc.run();
      results.push(r);
      all[name].push({ load, result: r });
      const md = sc.markdown(r);
      details.push(
        `#### ${name}, run ${i + 1} (load ${load.map((x) => x.toFixed(1)).join(' ')}, ${((performance.now() - t0) / 1000).toFixed(0)} s)`,
        '',
        md,
        '',
      );
      try {
        failOn('', sc.problems(r));
      } catch (err) {
        failed = true;
        details.push(`**${(err as Error).message.trim()}**`, '');
      }
    } catch (err) {
      failed = true;
      details.push(`#### ${name}, run ${i + 1}: FAILED`, '', String((err as Error).stack ?? err), '');
    }
  }
  const rows = sc.metrics.map(([label, get, fmt = fmtMs]) => {
    const vals = results.map((r) => get(r)).filter((v) => Number.isFinite(v));
    return [label, vals.length ? fmt(median(vals)) : 'n/a', results.map((r) => fmt(get(r))).join(', ')];
  });
  out.push(
    '',
    `## ${name}`,
    '',
    markdownTable(['measure', `median of ${results.length}`, 'each run'], rows, ['l', 'r', 'l']),
    '',
    ...details,
  );
}

if (svgDir) {
  mkdirSync(svgDir, { recursive: true });
  const d = all.density?.at(-1)?.result as DensityResult | undefined;
  if (d) {
    const colors: Record<string, string> = { base: '#2563eb', ramp: '#dc2626', steady: '#059669' };
    writeFileSync(
      join(svgDir, 'load-density-echo.svg'),
      svgChart({
        title: `Keystroke echo while ${d.params.idle} idle shells are opened and held (${d.params.typists} typing)`,
        xLabel: 'seconds since the typists started',
        yLabel: 'echo latency (ms, log scale)',
        yLog: true,
        series: Object.entries(colors).map(([ph, color]) => ({ name: ph, color, kind: 'dots' as const, points: d.echoSamples[ph] ?? [] })),
        hLines: [{ y: 50, label: 'goal: p99 < 50 ms', color: '#b91c1c' }],
      }),
    );
  }
  const c = all.churn?.at(-1)?.result as ChurnResult | undefined;
  if (c) {
    const gc = c.curve.filter((p) => p.gcRssKiB !== undefined);
    writeFileSync(
      join(svgDir, 'load-churn-memory.svg'),
      svgChart({
        title: `Server memory over ${c.done} create/destroy cycles`,
        xLabel: 'cycles',
        yLabel: 'MiB',
        series: [
          { name: 'RSS (sampled)', color: '#2563eb', points: c.curve.map((p) => [p.cycle, p.rssKiB / 1024]) },
          { name: 'RSS after a full GC', color: '#dc2626', points: gc.map((p) => [p.cycle, p.gcRssKiB! / 1024]) },
          { name: 'JS heap used after GC', color: '#059669', points: gc.map((p) => [p.cycle, p.heapUsedKiB! / 1024]) },
        ],
      }),
    );
  }
  log(`svg: wrote plots to ${svgDir}`);
}

console.log(out.join('\n'));
if (!args.includes('--no-save')) {
  // Compact JSON (no indentation): thousands of echo samples per run.
  const file = join(RESULTS_DIR, `soak-${m.date.replace(/:/g, '-').replace(/\..*$/, '')}.json`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(file, `${JSON.stringify({ machine: m, runs, args, results: all })}\n`);
  log(`wrote ${file}`);
}
process.exit(failed ? 1 : 0);
