// start-memory.ts (section): issue 18 items 3 and 4. Click Start → prompt painted in Chromium with the warm pool on
// and off (two servers, clicks interleaved), and memory per idle session with mirror hibernation on and off, beside
// ttyd's (`../shared/peers/ttyd`), each measured `reps` times interleaved to show the spread.
import os from 'node:os';
import { launchBrowser } from '../../e2e/browser.ts';
import { fmtMs, markdownTable, summarize } from '../lib/stats.ts';
import { boxlabIdleMemory, ttydIdleMemory, type IdleMemory } from '../lib/term-memory.ts';
import { PROBE_INIT, probe, type ProbeResult } from '../lib/term-probe.ts';
import { findTtyd, startTtyd } from '../lib/ttyd-peer.ts';
import { BenchClient } from '../lib/web-client.ts';
import { loadWarm, newPlaygroundPage } from '../lib/web-page.ts';
import { startBenchServer, type BenchServer } from '../lib/web-server.ts';
import type { Section } from './types.ts';

const PORT = Number(process.env.BOXLAB_BENCH_TTYD_PORT ?? 56011);
const HIBERNATE_SEC = 10;

/** POST + socket + prompt from Node: the server's share of a Start. */
async function nodeToPrompt(url: string): Promise<number> {
  const t0 = performance.now();
  const c = await BenchClient.connect(url);
  await c.waitPrompt(30_000);
  const ms = performance.now() - t0;
  await c.close();
  return ms;
}

export const startMemorySection: Section = {
  name: 'start-memory',
  title: 'Terminal: click Start → prompt with/without the warm pool; memory per idle session with/without mirror hibernation, against ttyd',
  async run({ quick, log }) {
    // BOXLAB_BENCH_CLICKS=0 skips the clicks, BOXLAB_BENCH_MEMORY_REPS=0 the memory part.
    const clicks = quick ? 6 : Number(process.env.BOXLAB_BENCH_CLICKS ?? 12);
    const reps = quick ? 2 : Number(process.env.BOXLAB_BENCH_MEMORY_REPS ?? 3);
    const n = quick ? 6 : Number(process.env.BOXLAB_BENCH_SESSIONS ?? 30);
    const load0 = os.loadavg();
    // --expose-gc: the memory part collects before each reading, so what is counted is what sessions keep alive.
    // --max-semi-space-size=1 as `npm start` runs the server: with V8's default young generation (up to 16 MiB a
    // semi-space) RSS swung by megabytes between readings, more than 30 sessions' worth.
    const flags = ['--expose-gc', '--max-semi-space-size=1'];
    const pool = await startBenchServer({ warmPool: 1, mirrorHibernateSec: HIBERNATE_SEC }, flags);
    const cold = await startBenchServer({ warmPool: 0, mirrorHibernateSec: 0 }, flags);
    const variants: [string, BenchServer][] = [
      ['warm pool 1', pool],
      ['no pool', cold],
    ];
    const click: Record<string, ProbeResult[]> = { 'warm pool 1': [], 'no pool': [] };
    const node: Record<string, number[]> = { 'warm pool 1': [], 'no pool': [] };
    const mem: { label: string; m: IdleMemory }[] = [];
    const loads: number[][] = [];
    const browser = await launchBrowser();
    try {
      const page = await newPlaygroundPage(browser, { viewport: { width: 1440, height: 900 } });
      await page.addInitScript(PROBE_INIT);
      for (let i = 0; clicks > 0 && i < clicks + 1; i++) {
        for (const [label, srv] of i % 2 ? [...variants].reverse() : variants) {
          await srv.destroyAll();
          await loadWarm(page, srv.url, 'dom');
          await new Promise((r) => setTimeout(r, 300)); // the pool refills after the previous session's box is gone
          const r = await probe(page, 'prompt', () => page.click('[data-testid=start]'), 'click', 60_000);
          if (i > 0) click[label]!.push(r);
          await page.evaluate(() => sessionStorage.clear()); // the other server is another origin: loadWarm clears only its own
          await srv.destroyAll();
          await new Promise((r) => setTimeout(r, 300));
          const t = await nodeToPrompt(srv.url);
          if (i > 0) node[label]!.push(t);
          log(
            `start-memory: ${label} click ${i}: painted ${r.painted.toFixed(0)} ms; node ${t.toFixed(0)} ms; load ${os.loadavg()[0]!.toFixed(1)}`,
          );
        }
        loads.push(os.loadavg());
      }
      await page.context().close();
      await pool.destroyAll();
      await cold.destroyAll();
      const bin = findTtyd();
      const peer = bin ? await startTtyd(bin, PORT, process.env.BOXLAB_IMAGE ?? '/var/lib/boxlab/images/busybox') : null;
      try {
        for (let r = 0; r < reps; r++) {
          for (const [label, srv, settle] of [
            [`hibernate ${HIBERNATE_SEC} s (defaults)`, pool, (HIBERNATE_SEC + 3) * 1000],
            ['no hibernation', cold, (HIBERNATE_SEC + 3) * 1000],
          ] as const) {
            const m = await boxlabIdleMemory(srv, n, settle, 4);
            mem.push({ label, m });
            log(
              `start-memory: ${label}: ${m.serverKiBPerSession.toFixed(0)} KiB RSS/session, heap ${m.heapKiBPerSession?.toFixed(0)} KiB/session`,
            );
          }
          if (peer) {
            const m = await ttydIdleMemory(peer, n);
            mem.push({ label: 'ttyd', m });
            log(`start-memory: ttyd: ${m.serverKiBPerSession.toFixed(0)} KiB/session`);
          }
          loads.push(os.loadavg());
        }
      } finally {
        await peer?.close();
      }
    } finally {
      await browser.close();
      await pool.close();
      await cold.close();
    }
    const row = (label: string) => {
      const p = summarize(click[label]!.map((x) => x.painted));
      const q = summarize(click[label]!.map((x) => x.parsed));
      const nd = summarize(node[label]!);
      return [label, fmtMs(p.p50), fmtMs(p.p90), fmtMs(p.min), fmtMs(p.max), fmtMs(q.p50), fmtMs(nd.p50), fmtMs(nd.p90)];
    };
    const memRows = mem.map(({ label, m }) => [
      label,
      m.serverKiBPerSession.toFixed(0),
      m.heapKiBPerSession?.toFixed(0) ?? '-',
      m.shellPssKiB.toFixed(0),
      m.cgroup ? m.cgroup.chargeKiB.toFixed(0) : '-',
      m.cgroup?.kernelKiB?.toFixed(0) ?? '-',
      m.cgroup?.slabKiB?.toFixed(0) ?? '-',
    ]);
    const markdown = [
      `Clicks: ${clicks} per variant after one warm-up, interleaved (the first variant alternating), a fresh page load before each, the previous session destroyed, 300 ms for the pool to refill. Load average before ${load0.map((x) => x.toFixed(1)).join(' ')}, during ${loads.map((l) => l[0]!.toFixed(1)).join(', ')}.`,
      '',
      markdownTable(
        ['click → prompt (ms)', 'painted p50', 'p90', 'min', 'max', 'in buffer p50', 'Node client p50', 'Node p90'],
        [row('warm pool 1'), row('no pool')],
      ),
      '',
      `Memory per idle session: ${n} sessions each, ${reps} repetitions interleaved; Boxlab after 4 warm-up sessions (created, a command typed, destroyed), then RSS growth of the server process ${HIBERNATE_SEC + 3} s after the last prompt (hibernation after ${HIBERNATE_SEC} s) and a full GC (servers run with --expose-gc --max-semi-space-size=1, as \`npm start\`), JS heap growth per session (after GC) beside it; ttyd 2 s after.`,
      '',
      markdownTable(
        ['server', 'RSS KiB/session', 'JS heap KiB/session', 'shell side PSS KiB', 'box cgroup charge KiB', 'kernel KiB', 'slab KiB'],
        memRows,
      ),
    ].join('\n');
    return { markdown, json: { clicks: click, node, mem, loadavgBefore: load0, loads } };
  },
};
