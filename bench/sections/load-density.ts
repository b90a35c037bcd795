// load-density.ts (section): N idle shells held at once while a few people type: server RSS per session, kernel
// memory per box, create latency and keystroke echo under that load, and a clean shutdown afterwards.
import os from 'node:os';
import { loopbackAddress, LoadClient } from '../lib/load-client.ts';
import { boxMemory, boxlabParents, inventory, inventoryTotal, meminfo, pidsMemory, type Inventory } from '../lib/load-host.ts';
import { delayCell, LoadServer, Phases, sampler, type LoopDelay } from '../lib/load-server.ts';
import { cpuPercent, EchoLog, failOn, pool, sleep, typist } from '../lib/load-typist.ts';
import { fmtMs, markdownTable, summarize, type Summary } from '../lib/stats.ts';
import type { Section } from './types.ts';

export interface DensityParams {
  idle: number;
  typists: number;
  /** Typing with only the typists' boxes alive (the baseline), and with everything held. */
  baseMs: number;
  steadyMs: number;
  /** Idle sessions opened at once while ramping up. */
  concurrency: number;
}

export const DENSITY_QUICK: DensityParams = { idle: 20, typists: 5, baseMs: 2000, steadyMs: 5000, concurrency: 4 };
export const DENSITY_FULL: DensityParams = { idle: 200, typists: 10, baseMs: 8000, steadyMs: 30_000, concurrency: 4 };

export interface DensityResult {
  params: DensityParams;
  held: number;
  failed: string[];
  create: { running: Summary; prompt: Summary };
  echo: Record<'base' | 'ramp' | 'steady', Summary & { lost: number }>;
  /** Per phase: the server's event-loop delay, and an idle process's (the machine's noise floor); ms, 10 ms timer. */
  loop: Record<string, LoopDelay>;
  noise: Record<string, LoopDelay>;
  loadavg: { start: number[]; end: number[] };
  commands: number;
  server: {
    rssBaseKiB: number;
    rssSteadyKiB: number;
    rssPerSessionKiB: number;
    cpuSteadyPct: number;
    fdsSteady: number;
    restarted: boolean;
  };
  /** Per idle box: /proc/meminfo deltas (KiB), its memory cgroup (bytes), its two host processes (KiB). */
  perBox: Record<string, number>;
  driverCpuPct: number;
  shutdown: { clean: boolean; ms: number };
  leftovers: Inventory;
  rssCurve: { t: number; rssKiB: number }[];
  /** Every echo sample per phase as [s since the typists started, ms], rounded, for plots. */
  echoSamples: Record<string, [number, number][]>;
}

const MEMINFO_KEYS = ['MemAvailable', 'Shmem', 'Slab', 'SUnreclaim', 'KernelStack', 'PageTables', 'Percpu'];

export async function runDensity(p: DensityParams, log: (l: string) => void = () => {}): Promise<DensityResult> {
  const server = await LoadServer.start({ config: { maxSessions: p.idle + p.typists + 5 } });
  const echo = new EchoLog();
  const clients: LoadClient[] = [];
  const failed: string[] = [];
  let stopTyping = false;
  const typing: Promise<void>[] = [];
  const curve = sampler(server.pid, 1000);
  const phases = new Phases(server, echo);
  const load0 = os.loadavg();
  const driver0 = process.cpuUsage();
  const wall0 = performance.now();
  try {
    for (let i = 0; i < p.typists; i++) {
      const c = (await LoadClient.open(server.url, { localAddress: loopbackAddress(i) })) as LoadClient;
      await c.ready();
      clients.push(c);
      typing.push(typist(c, echo, () => stopTyping, 1000 + i));
    }
    log(`density: ${p.typists} typists, baseline ${p.baseMs} ms`);
    await phases.start('base');
    await sleep(p.baseMs);
    const mem0 = meminfo();
    const s0 = server.sample();
    await phases.next('ramp');
    log(`density: opening ${p.idle} idle sessions, ${p.concurrency} at a time`);
    const idle = await pool(
      Array.from({ length: p.idle }, (_, i) => i),
      p.concurrency,
      async (i) => {
        try {
          const c = await LoadClient.open(server.url, { localAddress: loopbackAddress(p.typists + i) });
          if (!(c instanceof LoadClient)) throw new Error(`refused: ${c.refused.status} ${c.refused.body}`);
          clients.push(c);
          await c.ready();
          return c;
        } catch (err) {
          failed.push((err as Error).message);
          return null;
        }
      },
    );
    const opened = idle.filter((c): c is LoadClient => c !== null);
    await phases.next('steady');
    log(`density: ${opened.length} idle sessions up, steady ${p.steadyMs} ms`);
    const s1 = server.sample();
    const t1 = performance.now();
    await sleep(p.steadyMs);
    const s2 = server.sample();
    const t2 = performance.now();
    await phases.next('after');
    const mem1 = meminfo();
    const parents = boxlabParents();
    const boxes = opened.map((c) => boxMemory(c.box.id!, parents)).filter((m) => m !== null);
    const procs = pidsMemory(opened.flatMap((c) => [c.box.nsexecPid!, c.box.initPid!]));
    stopTyping = true;
    await Promise.all(typing);
    const held = opened.filter((c) => !c.closed && c.state === 'running').length;
    const n = Math.max(1, opened.length);
    const perBox: Record<string, number> = {};
    for (const k of MEMINFO_KEYS)
      perBox[`meminfo ${k} KiB`] = ((k === 'MemAvailable' ? -1 : 1) * ((mem1[k] ?? NaN) - (mem0[k] ?? NaN))) / n;
    const mean = (f: (b: NonNullable<ReturnType<typeof boxMemory>>) => number) =>
      boxes.reduce((a, b) => a + f(b), 0) / Math.max(1, boxes.length) / 1024;
    perBox['cgroup memory.usage KiB'] = mean((b) => b.usage);
    perBox['cgroup memory.kmem.usage KiB'] = mean((b) => b.kmem);
    perBox['cgroup rss KiB'] = mean((b) => b.rss);
    perBox['cgroup shmem KiB'] = mean((b) => b.shmem);
    perBox['nsexec + shell RSS KiB'] = procs.rssKiB / n;
    perBox['nsexec + shell PSS KiB'] = procs.pssKiB / n;
    const driver1 = process.cpuUsage(driver0);
    const restarted = !server.alive;
    log('density: SIGTERM (the server destroys every sandbox)');
    const shutdown = await server.stop();
    const ids = new Map([...server.boxes, ...clients.filter((c) => c.box.id).map((c) => [c.box.id!, c.box.uidBase] as const)]);
    await sleep(200);
    return {
      params: p,
      held,
      failed,
      create: { running: summarize(opened.map((c) => c.t.running)), prompt: summarize(opened.map((c) => c.t.prompt)) },
      echo: { base: echo.of('base'), ramp: echo.of('ramp'), steady: echo.of('steady') },
      loop: phases.loop,
      noise: phases.noise,
      loadavg: { start: load0, end: os.loadavg() },
      commands: echo.commands,
      server: {
        rssBaseKiB: s0.rssKiB,
        rssSteadyKiB: s2.rssKiB,
        rssPerSessionKiB: (s2.rssKiB - s0.rssKiB) / n,
        cpuSteadyPct: cpuPercent(s1, s2, t2 - t1),
        fdsSteady: s2.fds,
        restarted,
      },
      perBox,
      driverCpuPct: (100 * (driver1.user + driver1.system)) / 1000 / (performance.now() - wall0),
      shutdown,
      leftovers: inventory(ids),
      rssCurve: curve.samples.map((s) => ({ t: s.t, rssKiB: s.rssKiB })),
      echoSamples: echo.samples.reduce<Record<string, [number, number][]>>((acc, s) => {
        (acc[s.phase] ??= []).push([Math.round(s.t / 10) / 100, Math.round(s.ms * 100) / 100]);
        return acc;
      }, {}),
    };
  } finally {
    stopTyping = true;
    curve.stop();
    phases.stop();
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await server.stop();
  }
}

export function densityMarkdown(r: DensityResult): string {
  const e = (s: Summary & { lost: number }, ph: string) => [
    String(s.n),
    fmtMs(s.p50),
    fmtMs(s.p99),
    fmtMs(s.max),
    String(s.lost),
    delayCell(r.loop[ph]),
    delayCell(r.noise[ph]),
  ];
  return [
    `### Density: ${r.params.idle} idle shells + ${r.params.typists} typing (held ${r.held}/${r.params.idle}, ${r.failed.length} failed)`,
    '',
    markdownTable(
      ['keystroke echo (ms)', 'keys', 'p50', 'p99', 'max', 'lost', 'server loop lateness p99 / max', 'idle process lateness p99 / max'],
      [
        [`base (${r.params.typists} boxes)`, ...e(r.echo.base, 'base')],
        ['ramp (boxes being created)', ...e(r.echo.ramp, 'ramp')],
        [`steady (${r.held + r.params.typists} held)`, ...e(r.echo.steady, 'steady')],
      ],
    ),
    '',
    `Load average ${r.loadavg.start.map((x) => x.toFixed(1)).join(' ')} at the start, ${r.loadavg.end.map((x) => x.toFixed(1)).join(' ')} at the end (2 CPUs). Lateness: how late a 10 ms timer fired, in the server's event loop and in an idle process (the machine's noise floor).`,
    '',
    markdownTable(
      ['create under load (ms, from POST)', 'p50', 'p90', 'p99', 'max'],
      [
        [
          'state running',
          fmtMs(r.create.running.p50),
          fmtMs(r.create.running.p90),
          fmtMs(r.create.running.p99),
          fmtMs(r.create.running.max),
        ],
        ['first prompt', fmtMs(r.create.prompt.p50), fmtMs(r.create.prompt.p90), fmtMs(r.create.prompt.p99), fmtMs(r.create.prompt.max)],
      ],
    ),
    '',
    markdownTable(
      ['per idle session', 'value'],
      [['server RSS (KiB)', r.server.rssPerSessionKiB.toFixed(0)], ...Object.entries(r.perBox).map(([k, v]) => [k, v.toFixed(1)])],
    ),
    '',
    `Server: RSS ${(r.server.rssBaseKiB / 1024).toFixed(0)} → ${(r.server.rssSteadyKiB / 1024).toFixed(0)} MiB, CPU ${r.server.cpuSteadyPct.toFixed(0)} % of a core while steady, ${r.server.fdsSteady} fds; restarted: ${r.server.restarted ? 'YES' : 'no'}. ` +
      `Driver CPU ${r.driverCpuPct.toFixed(0)} %. SIGTERM shutdown ${r.shutdown.clean ? 'clean' : 'NOT clean'} in ${fmtMs(r.shutdown.ms)} ms; leftovers after it: ${inventoryTotal(r.leftovers)}.`,
    ...r.failed.slice(0, 5).map((f) => `- failed: ${f}`),
  ].join('\n');
}

export const densityProblems = (r: DensityResult) => [
  r.held !== r.params.idle && `${r.params.idle - r.held} idle sessions not held`,
  r.failed.length > 0 && `${r.failed.length} sessions failed`,
  r.server.restarted && 'the server died',
  !r.shutdown.clean && 'unclean shutdown',
  inventoryTotal(r.leftovers) > 0 && `leftovers: ${JSON.stringify(r.leftovers).slice(0, 300)}`,
];

export const densitySection: Section = {
  name: 'load-density',
  title: 'Load: density (idle shells held, people typing)',
  async run({ quick, log }) {
    const r = await runDensity(quick ? DENSITY_QUICK : { ...DENSITY_FULL, idle: 60, steadyMs: 10_000 }, log);
    return { markdown: failOn(densityMarkdown(r), densityProblems(r)), json: r };
  },
};
