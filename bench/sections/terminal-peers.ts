// terminal-peers.ts (section): Boxlab's playground against ttyd in one Playwright harness, rounds interleaved, on the
// machine as it is ("quiet") and under a busy loop per core ("loaded"): keystroke echo parsed/painted, flood MB/s,
// Ctrl-C to prompt painted, click Start to prompt painted, and memory per idle session.
import os from 'node:os';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from '../../e2e/browser.ts';
import { cpuSpan, startBusyLoad } from '../lib/busy-load.ts';
import { fmtMs, markdownTable, summarize } from '../lib/stats.ts';
import { boxlabIdleMemory, ttydIdleMemory, type IdleMemory } from '../lib/term-memory.ts';
import { PROBE_INIT, fitTo, pointerOnTerminal, probe, type ProbeResult } from '../lib/term-probe.ts';
import { findTtyd, startTtyd, type TtydPeer } from '../lib/ttyd-peer.ts';
import { loadWarm, newPlaygroundPage } from '../lib/web-page.ts';
import { startBenchServer, type BenchServer } from '../lib/web-server.ts';
import type { Section } from './types.ts';

const COLS = 113;
const ROWS = 41;
const PORT = Number(process.env.BOXLAB_BENCH_TTYD_PORT ?? 47011);
type Peer = 'boxlab' | 'ttyd';
type Cond = 'quiet' | 'loaded';

interface Samples {
  echo: ProbeResult[];
  flood: { mbPerSec: number; ms: number; bytes: number }[];
  ctrlc: ProbeResult[];
  click: ProbeResult[];
}
const empty = (): Samples => ({ echo: [], flood: [], ctrlc: [], click: [] });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function focus(page: Page): Promise<void> {
  await page.evaluate(() =>
    (
      (window as unknown as { __boxlab?: { term: { focus(): void } }; term?: { focus(): void } }).__boxlab?.term ??
      (window as unknown as { term: { focus(): void } }).term
    ).focus(),
  );
}

/** Alternating 'a' and Backspace keeps the line empty; each key is timed alone, `gapMs` apart. */
async function echoRound(page: Page, n: number, gapMs: number, out: ProbeResult[]): Promise<void> {
  await focus(page);
  for (let i = 0; i < n; i++) {
    const a = i % 2 === 0;
    out.push(await probe(page, a ? 'a' : 'del', () => page.keyboard.press(a ? 'a' : 'Backspace'), 'key', 10_000));
    await sleep(gapMs);
  }
}

async function floodRound(page: Page, bytes: number, out: Samples['flood']): Promise<void> {
  await focus(page);
  await page.keyboard.type(`head -c ${Math.round((bytes * 57) / 78)} /dev/urandom | base64; echo; echo E""ND`);
  await sleep(200);
  // 60 s: ttyd's own flow control was seen to stall for good under load (paused, never resumed); fail that sample.
  const r = await probe(page, 'end', () => page.keyboard.press('Enter'), 'key', 60_000);
  out.push({ mbPerSec: r.bytes / 1e3 / r.painted, ms: r.painted, bytes: r.bytes });
}

async function ctrlcRound(page: Page, floodMs: number, out: ProbeResult[]): Promise<void> {
  await focus(page);
  await page.keyboard.type('base64 /dev/urandom');
  await page.keyboard.press('Enter');
  await sleep(floodMs);
  out.push(await probe(page, 'prompt', () => page.keyboard.press('Control+c'), 'key', 60_000));
  await sleep(300);
}

export async function boxlabPage(browser: Browser, srv: BenchServer): Promise<Page> {
  const page = await newPlaygroundPage(browser, { viewport: { width: 1440, height: 900 } });
  await page.addInitScript(PROBE_INIT);
  await loadWarm(page, srv.url, 'dom');
  await probe(page, 'prompt', () => page.click('[data-testid=start]'), 'click', 60_000);
  return page;
}

export async function ttydPage(browser: Browser, peer: TtydPeer): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 1000, height: 700 } });
  const page = await ctx.newPage();
  await page.addInitScript(PROBE_INIT);
  await page.goto(peer.url);
  await page.waitForFunction(
    () => {
      const t = (
        window as unknown as {
          term?: { buffer: { active: { cursorY: number; getLine(y: number): { translateToString(b: boolean): string } | undefined } } };
        }
      ).term;
      return !!t && /[#$] *$/.test(t.buffer.active.getLine(t.buffer.active.cursorY)?.translateToString(true) ?? '');
    },
    undefined,
    { timeout: 30_000 },
  );
  return page;
}

const pct = (xs: ProbeResult[], k: 'parsed' | 'painted', p: 'p50' | 'p99') => fmtMs(summarize(xs.map((x) => x[k]))[p]);
const med = (xs: number[]) => summarize(xs).p50;

export const terminalPeersSection: Section = {
  name: 'terminal-peers',
  title: 'Terminal: Boxlab against ttyd in one harness (echo, flood, Ctrl-C, Start, memory), quiet and loaded',
  async run({ quick, log }) {
    const bin = findTtyd();
    if (!bin) return { markdown: 'ttyd not found (BOXLAB_TTYD, ../shared/peers/ttyd): section skipped.', json: { skipped: true } };
    const rounds = quick ? 2 : Number(process.env.BOXLAB_BENCH_ROUNDS ?? 4);
    const keys = quick ? 20 : 40;
    const floodBytes = quick ? 2e6 : 4e6;
    const clicks = quick ? 4 : 10;
    const srv = await startBenchServer({});
    const imagePath = '/var/lib/boxlab/images/busybox';
    const peer = await startTtyd(bin, PORT, process.env.BOXLAB_IMAGE ?? imagePath);
    const browser = await launchBrowser();
    const res: Record<Cond, Record<Peer, Samples>> = {
      quiet: { boxlab: empty(), ttyd: empty() },
      loaded: { boxlab: empty(), ttyd: empty() },
    };
    const spans: Record<Cond, { busy: number; loadavg: number[]; loadBefore: number[]; workers: number }> = {} as never;
    const sizes: Record<string, { cols: number; rows: number }> = {};
    let memory: { boxlab: IdleMemory; ttyd: IdleMemory } | null = null;
    const failures: { cond: Cond; peer: Peer; what: string; error: string }[] = [];
    try {
      for (const cond of ['quiet', 'loaded'] as Cond[]) {
        const loadBefore = os.loadavg();
        const load = cond === 'loaded' ? startBusyLoad() : null;
        const span = cpuSpan();
        try {
          await srv.destroyAll();
          const pages: Record<Peer, Page> = { boxlab: await boxlabPage(browser, srv), ttyd: await ttydPage(browser, peer) };
          for (const p of ['boxlab', 'ttyd'] as Peer[]) {
            sizes[p] = await fitTo(pages[p], COLS, ROWS);
            await pointerOnTerminal(pages[p]);
          }
          log(
            `terminal-peers ${cond}: sizes boxlab ${sizes.boxlab?.cols}x${sizes.boxlab?.rows}, ttyd ${sizes.ttyd?.cols}x${sizes.ttyd?.rows}`,
          );
          await echoRound(pages.boxlab, 10, 30, []); // warm-up
          await echoRound(pages.ttyd, 10, 30, []);
          for (let r = 0; r < rounds; r++) {
            const order: Peer[] = r % 2 === 0 ? ['boxlab', 'ttyd'] : ['ttyd', 'boxlab'];
            for (const p of order) {
              const s = res[cond][p];
              // A failed sample is recorded and the shell brought back to a prompt; the run goes on.
              const guard = async (what: string, f: () => Promise<void>) => {
                try {
                  await f();
                } catch (err) {
                  // ttyd's own log says whether its socket closed (a reconnect starts a new shell).
                  const why = p === 'ttyd' ? ` | ttyd log: ${peer.log().split('\n').slice(-6).join(' / ')}` : '';
                  failures.push({ cond, peer: p, what, error: String((err as Error).message).slice(0, 300) + why });
                  log(`terminal-peers ${cond} ${p} ${what} FAILED: ${(err as Error).message.slice(0, 200)}`);
                  await pages[p].keyboard.press('Control+c').catch(() => {});
                  await sleep(1000);
                }
              };
              await guard('echo', () => echoRound(pages[p], keys, 60, s.echo));
              await guard('flood', () => floodRound(pages[p], floodBytes, s.flood));
              await guard('ctrl-c', () => ctrlcRound(pages[p], 1500, s.ctrlc));
              log(
                `terminal-peers ${cond} round ${r + 1}/${rounds} ${p}: echo painted p50 ${pct(s.echo, 'painted', 'p50')} ms, flood ${s.flood.at(-1)?.mbPerSec.toFixed(2)} MB/s, ctrl-c ${s.ctrlc.at(-1)?.painted.toFixed(0)} ms`,
              );
            }
          }
          await pages.ttyd.context().close();
          await pages.boxlab.context().close();
          // Click Start → prompt painted, a fresh page load each (no stored session), the box count kept at one.
          const cp = await newPlaygroundPage(browser, { viewport: { width: 1440, height: 900 } });
          await cp.addInitScript(PROBE_INIT);
          for (let i = 0; i < clicks + 1; i++) {
            await srv.destroyAll();
            await loadWarm(cp, srv.url, 'dom');
            const r = await probe(cp, 'prompt', () => cp.click('[data-testid=start]'), 'click', 60_000).catch((err: Error) => {
              failures.push({ cond, peer: 'boxlab', what: 'click', error: err.message.slice(0, 300) });
              return null;
            });
            if (i > 0 && r) res[cond].boxlab.click.push(r); // the first warms the server's and the page's caches
          }
          log(`terminal-peers ${cond}: click → prompt painted p50 ${pct(res[cond].boxlab.click, 'painted', 'p50')} ms`);
          await cp.context().close();
          await srv.destroyAll();
        } finally {
          const s = span();
          spans[cond] = { ...s, loadBefore, workers: load?.workers ?? 0 };
          await load?.stop();
        }
      }
      log('terminal-peers: memory per idle session');
      memory = { boxlab: await boxlabIdleMemory(srv, quick ? 4 : 12), ttyd: await ttydIdleMemory(peer, quick ? 4 : 12) };
    } finally {
      await browser.close();
      await peer.close();
      await srv.close();
    }
    const md = report(res, spans, sizes, memory, peer, rounds, keys, floodBytes);
    const failed = failures.length
      ? `\n\nFailed samples (left out above): ${failures.map((f) => `${f.cond} ${f.peer} ${f.what}: ${f.error}`).join('; ')}`
      : '';
    return { markdown: md + failed, json: { res, spans, sizes, memory, failures, ttyd: { version: peer.version, shell: peer.shell } } };
  },
};

function report(
  res: Record<Cond, Record<Peer, Samples>>,
  spans: Record<Cond, { busy: number; loadavg: number[]; loadBefore: number[]; workers: number }>,
  sizes: Record<string, { cols: number; rows: number }>,
  memory: { boxlab: IdleMemory; ttyd: IdleMemory } | null,
  peer: TtydPeer,
  rounds: number,
  keys: number,
  floodBytes: number,
): string {
  const la = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(' ');
  const cell = (c: Cond, p: Peer, f: (s: Samples) => string) => f(res[c][p]);
  const row = (label: string, f: (s: Samples) => string) => [
    label,
    cell('quiet', 'boxlab', f),
    cell('quiet', 'ttyd', f),
    cell('loaded', 'boxlab', f),
    cell('loaded', 'ttyd', f),
  ];
  const lines = [
    `Both pages in one headless Chromium (--disable-gpu, DOM renderer), terminals ${sizes.boxlab?.cols}x${sizes.boxlab?.rows} (Boxlab) and ${sizes.ttyd?.cols}x${sizes.ttyd?.rows} (ttyd), ${rounds} rounds per condition with the order alternating; per round and peer ${keys} keys ('a', Backspace, 60 ms apart), one flood (\`head -c ${Math.round((floodBytes * 57) / 78)} /dev/urandom | base64\`, about ${floodBytes / 1e6} MB of output; ttyd's shell inherits SIGPIPE ignored, so \`base64 | head\` never ends there), one Ctrl-C after 1.5 s of \`base64 /dev/urandom\`. ttyd ${peer.version}, shell: ${peer.shell}. Boxlab: the real server, box defaults (cpu 0.5). The mouse rests over the middle of each terminal. Times are from the input event's timeStamp to the probe in \`bench/lib/term-probe.ts\` (parsed: xterm's buffer shows it; painted: the DOM row shows it and the frame that drew it ended).`,
    '',
    `Quiet: the machine as it was (other work running), CPU busy ${(spans.quiet.busy * 100).toFixed(0)} % over the run, load average ${la(spans.quiet.loadBefore)} before, ${la(spans.quiet.loadavg)} after. Loaded: plus ${spans.loaded.workers} busy loops, CPU busy ${(spans.loaded.busy * 100).toFixed(0)} %, load average ${la(spans.loaded.loadavg)} at the end.`,
    '',
    markdownTable(
      ['', 'Boxlab quiet', 'ttyd quiet', 'Boxlab loaded', 'ttyd loaded'],
      [
        row(
          'keystroke echo, keydown → painted, p50 / p99 (ms)',
          (s) => `${pct(s.echo, 'painted', 'p50')} / ${pct(s.echo, 'painted', 'p99')}`,
        ),
        row('same, → parsed by xterm.js, p50 / p99 (ms)', (s) => `${pct(s.echo, 'parsed', 'p50')} / ${pct(s.echo, 'parsed', 'p99')}`),
        row('flood MB/s (median of rounds)', (s) => (s.flood.length ? med(s.flood.map((f) => f.mbPerSec)).toFixed(2) : '-')),
        row('Ctrl-C during a flood → prompt painted, p50 / max (ms)', (s) =>
          s.ctrlc.length ? `${fmtMs(med(s.ctrlc.map((x) => x.painted)))} / ${fmtMs(summarize(s.ctrlc.map((x) => x.painted)).max)}` : '-',
        ),
        row('click Start → prompt painted, p50 / p90 (ms)', (s) =>
          s.click.length ? `${pct(s.click, 'painted', 'p50')} / ${fmtMs(summarize(s.click.map((x) => x.painted)).p90)}` : '-',
        ),
        row('echo samples', (s) => String(s.echo.length)),
      ],
    ),
  ];
  if (memory) {
    const m = memory;
    const cg = m.boxlab.cgroup;
    lines.push(
      '',
      `Memory per idle session (${m.boxlab.sessions} sessions each, quiet part of the run, 2 s after the last prompt; RSS growth of the server process divided by the sessions; shell side = PSS of the session's own processes).`,
      '',
      markdownTable(
        ['', 'Boxlab', 'ttyd'],
        [
          ['server RSS per session (KiB)', m.boxlab.serverKiBPerSession.toFixed(0), m.ttyd.serverKiBPerSession.toFixed(0)],
          [
            'server RSS before → after (KiB)',
            `${m.boxlab.serverRssBeforeKiB} → ${m.boxlab.serverRssAfterKiB}`,
            `${m.ttyd.serverRssBeforeKiB} → ${m.ttyd.serverRssAfterKiB}`,
          ],
          ['session processes PSS (KiB)', m.boxlab.shellPssKiB.toFixed(0), m.ttyd.shellPssKiB.toFixed(0)],
          [`box memory cgroup charge (v${cg?.version ?? '?'}), KiB`, cg ? cg.chargeKiB.toFixed(0) : 'n/a', '-'],
          [
            '… of which kernel (kmem) / slab, KiB',
            cg ? `${cg.kernelKiB?.toFixed(0) ?? 'n/a'} / ${cg.slabKiB?.toFixed(0) ?? 'n/a'}` : 'n/a',
            '-',
          ],
        ],
      ),
    );
  }
  return lines.join('\n');
}
