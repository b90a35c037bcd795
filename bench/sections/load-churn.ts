// load-churn.ts (section): thousands of create/destroy cycles through the WebSocket, ended the three ways users end
// them (shell exit, tab closed, reset), then zero leftovers on the host and a flat server RSS and fd count.
import { loopbackAddress, httpRequest, LoadClient } from '../lib/load-client.ts';
import { inventory, inventoryTotal, type Inventory } from '../lib/load-host.ts';
import { LoadServer, procSample, type HeapSample, type ProcSample } from '../lib/load-server.ts';
import { failOn, pool, sleep } from '../lib/load-typist.ts';
import { fmtMs, markdownTable, summarize, type Summary } from '../lib/stats.ts';
import type { Section } from './types.ts';

export interface ChurnParams {
  cycles: number;
  concurrency: number;
  /** Cycles before the "start" RSS/fd sample (heap and caches warm up first). */
  warmup: number;
  /** A sample of server RSS/fds every this many cycles. */
  every: number;
}

export const CHURN_QUICK: ChurnParams = { cycles: 50, concurrency: 4, warmup: 10, every: 10 };
export const CHURN_FULL: ChurnParams = { cycles: 2000, concurrency: 4, warmup: 100, every: 50 };

/** How a cycle ends: the shell exits ("exit"), the tab closes (session freed after grace), or reset then close. */
const MODES = ['exit', 'close', 'reset'] as const;
type Mode = (typeof MODES)[number];

export interface ChurnResult {
  params: ChurnParams;
  done: number;
  byMode: Record<Mode, number>;
  failures: string[];
  boxes: number;
  create: Summary;
  cycle: Summary;
  wallMs: number;
  start: ProcSample;
  end: ProcSample;
  /** process.memoryUsage() of the server after a full GC, idle, before and after the measured cycles. */
  heapStart: HeapSample;
  heapEnd: HeapSample;
  curve: { cycle: number; rssKiB: number; fds: number; heapUsedKiB?: number; externalKiB?: number; gcRssKiB?: number }[];
  /** KiB per 1000 cycles, least squares over the samples after warm-up. */
  rssSlopeKiBPer1k: number;
  sessionsLeft: number;
  drainMs: number;
  restarted: boolean;
  leftovers: Inventory;
}

function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    const dx = (xs[i] ?? NaN) - mx;
    num += dx * ((ys[i] ?? NaN) - my);
    den += dx ** 2;
  }
  return den ? num / den : NaN;
}

async function cycle(url: string, i: number, mode: Mode, ids: Map<string, number | null>): Promise<{ create: number; total: number }> {
  const t0 = performance.now();
  const c = await LoadClient.open(url, { localAddress: loopbackAddress(i % 4096), timeoutMs: 30_000 });
  if (!(c instanceof LoadClient)) throw new Error(`refused: ${c.refused.status} ${c.refused.body}`);
  try {
    await c.ready(30_000);
    ids.set(c.box.id!, c.box.uidBase);
    const create = c.t.prompt;
    if (mode === 'exit') {
      c.write('exit\r');
      await c.until(() => c.exited && c.state === 'exited', 15_000, 'exit');
    } else if (mode === 'reset') {
      const first = c.box.id;
      c.control({ type: 'reset' });
      await c.until(() => c.box.id !== first && c.state === 'running', 30_000, 'reset to a new box');
      ids.set(c.box.id!, c.box.uidBase);
    } else {
      await c.run('true', 10_000);
    }
    return { create, total: performance.now() - t0 };
  } finally {
    await c.close();
  }
}

/** Waits (bounded) until the registry is empty: closed tabs end after the grace period. */
async function drain(url: string): Promise<{ left: number; ms: number }> {
  const t0 = performance.now();
  let left = -1;
  for (let k = 0; k < 150; k++) {
    left = (JSON.parse((await httpRequest(url, 'GET', '/api/health')).body) as { sessions: number }).sessions;
    if (left === 0) break;
    await sleep(100);
  }
  await sleep(500); // the last teardowns finish after the registry entry is gone
  return { left, ms: performance.now() - t0 };
}

export async function runChurn(p: ChurnParams, log: (l: string) => void = () => {}): Promise<ChurnResult> {
  // Grace 1 s: a closed tab's session (and its box) is freed a second later instead of a minute later.
  const server = await LoadServer.start({ config: { maxSessions: 400, graceSec: 1 } });
  const ids = new Map<string, number | null>();
  const failures: string[] = [];
  const creates: number[] = [];
  const totals: number[] = [];
  const byMode: Record<Mode, number> = { exit: 0, close: 0, reset: 0 };
  const curve: ChurnResult['curve'] = [];
  let done = 0;
  const run = (from: number, n: number) =>
    pool(
      Array.from({ length: n }, (_, i) => from + i),
      p.concurrency,
      async (i) => {
        const mode = MODES[i % MODES.length]!;
        try {
          const r = await cycle(server.url, i, mode, ids);
          creates.push(r.create);
          totals.push(r.total);
          byMode[mode]++;
        } catch (err) {
          failures.push(`#${i} ${mode}: ${(err as Error).message}`);
        }
        done++;
        if (done % p.every === 0 && server.alive) {
          const s = server.sample();
          const point: ChurnResult['curve'][number] = { cycle: done, rssKiB: s.rssKiB, fds: s.fds };
          curve.push(point);
          // Every 5th point also after a full GC: JS garbage not yet collected is not a leak.
          if (done % (p.every * 5) === 0) {
            const h = await server.heap().catch(() => null);
            if (h) Object.assign(point, { heapUsedKiB: h.heapUsed / 1024, externalKiB: h.external / 1024, gcRssKiB: h.rss / 1024 });
          }
          if (done % (p.every * 10) === 0)
            log(`churn: ${done} cycles, RSS ${(s.rssKiB / 1024).toFixed(0)} MiB, ${s.fds} fds, ${failures.length} failures`);
        }
      },
    );
  try {
    log(`churn: ${p.warmup} warm-up cycles, then ${p.cycles - p.warmup}, ${p.concurrency} at a time`);
    await run(0, p.warmup);
    await drain(server.url);
    const heapStart = await server.heap();
    const start = procSample(server.pid);
    const t0 = performance.now();
    await run(p.warmup, p.cycles - p.warmup);
    const wallMs = performance.now() - t0;
    const { left, ms: drainMs } = await drain(server.url);
    const heapEnd = await server.heap();
    const end = procSample(server.pid);
    const restarted = !server.alive;
    const leftovers = inventory(new Map([...server.boxes, ...ids]));
    const after = curve.filter((s) => s.cycle >= p.warmup);
    return {
      params: p,
      done,
      byMode,
      failures,
      boxes: Math.max(ids.size, server.boxes.size),
      create: summarize(creates),
      cycle: summarize(totals),
      wallMs: wallMs * (p.cycles / Math.max(1, p.cycles - p.warmup)),
      start,
      end,
      heapStart,
      heapEnd,
      curve,
      rssSlopeKiBPer1k:
        slope(
          after.map((s) => s.cycle),
          after.map((s) => s.rssKiB),
        ) * 1000,
      sessionsLeft: left,
      drainMs,
      restarted,
      leftovers,
    };
  } finally {
    await server.stop();
  }
}

const mb = (b: number) => (b / 2 ** 20).toFixed(1);

export function churnMarkdown(r: ChurnResult): string {
  const l = r.leftovers;
  return [
    `### Churn: ${r.done} create/destroy cycles through the WebSocket (${r.params.concurrency} at a time; ${r.boxes} boxes)`,
    '',
    markdownTable(
      ['measure', 'value'],
      [
        [
          'cycles ok (exit / close / reset)',
          `${r.byMode.exit + r.byMode.close + r.byMode.reset} (${r.byMode.exit} / ${r.byMode.close} / ${r.byMode.reset})`,
        ],
        ['failures', String(r.failures.length)],
        ['create to prompt p50 / p99 (ms)', `${fmtMs(r.create.p50)} / ${fmtMs(r.create.p99)}`],
        ['whole cycle p50 / p99 (ms)', `${fmtMs(r.cycle.p50)} / ${fmtMs(r.cycle.p99)}`],
        ['throughput (cycles/s)', (r.done / (r.wallMs / 1000)).toFixed(1)],
        [
          `server RSS idle after ${r.params.warmup} warm-up cycles → idle at the end (MiB)`,
          `${(r.start.rssKiB / 1024).toFixed(1)} → ${(r.end.rssKiB / 1024).toFixed(1)}`,
        ],
        ['server RSS slope after warm-up (KiB per 1000 cycles)', r.rssSlopeKiBPer1k.toFixed(0)],
        [
          'server after a full GC: heap used, external, RSS start → end (MiB)',
          [r.heapStart, r.heapEnd].map((h) => `${mb(h.heapUsed)}, ${mb(h.external)}, ${mb(h.rss)}`).join(' → '),
        ],
        ['server fds (idle) start → end', `${r.start.fds} → ${r.end.fds}`],
        ['server threads start → end', `${r.start.threads} → ${r.end.threads}`],
        ['sessions left (after grace)', `${r.sessionsLeft} (drained in ${fmtMs(r.drainMs)} ms)`],
        ['server restarted', r.restarted ? 'YES' : 'no'],
        ['leftover mounts (tmpfs, overlay)', `${l.mounts.length} (${l.tmpfs}, ${l.overlays})`],
        [
          'leftover cgroups / state dirs / uid slots / processes',
          `${l.cgroups.length} / ${l.stateDirs.length} / ${l.slots.length} / ${l.processes.length}`,
        ],
      ],
    ),
    ...r.failures.slice(0, 5).map((f) => `- ${f}`),
    ...(inventoryTotal(l) ? [`- leftovers: ${JSON.stringify(l).slice(0, 500)}`] : []),
  ].join('\n');
}

export const churnProblems = (r: ChurnResult) => [
  r.failures.length > 0 && `${r.failures.length} cycles failed: ${r.failures[0]}`,
  r.restarted && 'the server died',
  r.sessionsLeft !== 0 && `${r.sessionsLeft} sessions left`,
  r.end.fds > r.start.fds && `server fds grew ${r.start.fds} → ${r.end.fds}`,
  inventoryTotal(r.leftovers) > 0 && `leftovers: ${JSON.stringify(r.leftovers).slice(0, 300)}`,
];

export const churnSection: Section = {
  name: 'load-churn',
  title: 'Load: churn (create/destroy cycles, leaks)',
  async run({ quick, log }) {
    const r = await runChurn(quick ? CHURN_QUICK : { ...CHURN_FULL, cycles: 300 }, log);
    return { markdown: failOn(churnMarkdown(r), churnProblems(r)), json: r };
  },
};
