// trace-start.ts: `node --import tsx bench/trace-start.ts [runs]`: click Start → prompt painted in Chromium with a CDP
// trace around each click, warm pool on and off, alternating. Reports wall time and the page's renderer main-thread
// CPU time (thread time of its outermost tasks from the click on): on a loaded machine the wall time is mostly waiting
// for a CPU, the thread time is what the page itself needs, i.e. what a quiet machine would still pay.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { launchBrowser } from '../e2e/browser.ts';
import { PROBE_INIT, probe } from './lib/term-probe.ts';
import { loadWarm, newPlaygroundPage } from './lib/web-page.ts';
import { startBase, startBenchServer } from './lib/web-server.ts';
import { summarize } from './lib/stats.ts';

interface Ev {
  name: string;
  ph: string;
  ts: number;
  dur?: number;
  tdur?: number;
  pid: number;
  tid: number;
  args?: { data?: { type?: string; functionName?: string; url?: string; lineNumber?: number } };
}
const CATEGORIES = [
  'devtools.timeline',
  'disabled-by-default-devtools.timeline',
  ...(process.env.TRACE_LAYOUT ? ['disabled-by-default-devtools.timeline.stack'] : []),
  'toplevel',
  'v8.execute',
  'blink',
];

function busyAfterClick(events: Ev[]): { busyMs: number; top: [string, number][] } {
  const click = events.find((e) => e.name === 'EventDispatch' && e.args?.data?.type === 'click');
  if (!click) return { busyMs: NaN, top: [] };
  const main = events.filter((e) => e.pid === click.pid && e.tid === click.tid && e.ts >= click.ts - 50_000);
  // Thread time (tdur) of the outermost tasks: CPU the main thread really got; wall spans include preemption.
  const tasks = main
    .filter(
      (e) =>
        e.ph === 'X' && (e.name === 'ThreadControllerImpl::RunTask' || e.name === 'RunTask') && e.ts + (e.dur ?? 0) > click.ts - 20_000,
    )
    .sort((a, b) => a.ts - b.ts);
  let busy = 0;
  let end = -Infinity;
  for (const e of tasks) {
    if (e.ts + (e.dur ?? 0) <= end) continue; // nested in the previous outermost task
    busy += e.tdur ?? e.dur ?? 0;
    end = e.ts + (e.dur ?? 0);
  }
  if (process.env.TRACE_TASKS) {
    // Each outermost task over 1 ms from the click on: when, how long (thread time), and what ran in it.
    let end2 = -Infinity;
    for (const e of tasks) {
      if (e.ts + (e.dur ?? 0) <= end2) continue;
      end2 = e.ts + (e.dur ?? 0);
      const ms = (e.tdur ?? e.dur ?? 0) / 1000;
      if (ms < Number(process.env.TRACE_MIN_MS ?? 1)) continue;
      const inner = main.filter(
        (x) => (x.ph === 'X' || x.ph === 'I' || x.ph === 'i') && x.ts >= e.ts && x.ts + (x.dur ?? 0) <= end2 && x !== e,
      );
      const what = inner
        .filter(
          (x) =>
            [
              'FunctionCall',
              'TimerFire',
              'FireAnimationFrame',
              'EventDispatch',
              'Layout',
              'UpdateLayoutTree',
              'Paint',
              'PrePaint',
              'Commit',
              'WebSocketCreate',
              'WebSocketSendHandshakeRequest',
              'WebSocketReceiveHandshakeResponse',
              'ResourceSendRequest',
              'ResourceReceiveResponse',
              'ResourceFinish',
            ].includes(x.name) ||
            (x.name.startsWith('WebSocket') && x.ph !== 'X'),
        )
        .map(
          (x) =>
            `${x.name === 'FunctionCall' ? x.args?.data?.functionName || 'fn' : x.name}${x.args?.data?.type ? `:${x.args.data.type}` : ''} ${((x.tdur ?? x.dur ?? 0) / 1000).toFixed(1)}`,
        )
        .slice(0, Number(process.env.TRACE_WHAT ?? 8));
      console.error(
        `  +${((e.ts - click.ts) / 1000).toFixed(0)} ms task ${ms.toFixed(1)} ms (wall ${((e.dur ?? 0) / 1000).toFixed(1)}): ${what.join(', ')}`,
      );
    }
  }
  const by = new Map<string, number>();
  for (const e of main) if (e.ph === 'X' && !/RunTask/.test(e.name)) by.set(e.name, (by.get(e.name) ?? 0) + (e.tdur ?? e.dur ?? 0) / 1000);
  // JS by function (FunctionCall events are top-level calls into JS: event handlers, timers, message callbacks).
  const fns = new Map<string, number>();
  for (const e of main) {
    if (e.ph !== 'X' || e.name !== 'FunctionCall' || e.ts < click.ts - 20_000) continue;
    const d = e.args?.data;
    const k = `${d?.functionName || '(anon)'}@${(d?.url ?? '?').replace(/^.*\//, '')}:${d?.lineNumber ?? ''}`;
    fns.set(k, (fns.get(k) ?? 0) + (e.tdur ?? e.dur ?? 0) / 1000);
  }
  if (process.env.TRACE_LAYOUT) {
    // Style and layout work after the click with the JS that forced it (Chromium puts a stack on forced ones).
    const lay = main.filter((e) => e.ph === 'X' && (e.name === 'Layout' || e.name === 'UpdateLayoutTree') && e.ts >= click.ts);
    for (const e of lay) {
      const a = e.args as { beginData?: { stackTrace?: { functionName: string; url: string; lineNumber: number }[] } } | undefined;
      const st = (a?.beginData?.stackTrace ?? []).slice(0, 4).map((f) => `${f.functionName}@${f.url.replace(/^.*\//, '')}:${f.lineNumber}`);
      console.error(
        `  ${((e.ts - click.ts) / 1000).toFixed(1)} ms ${e.name} ${((e.tdur ?? e.dur ?? 0) / 1000).toFixed(1)} ms ${st.join(' < ')}`,
      );
    }
  }
  if (process.env.TRACE_FNS)
    console.error(
      JSON.stringify(
        [...fns]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 12)
          .map(([k, v]) => [k, Math.round(v * 10) / 10]),
      ),
    );
  return {
    busyMs: busy / 1000,
    top: [...by.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([k, v]) => [k, Math.round(v * 10) / 10]),
  };
}

const runs = Number(process.argv[2] ?? 6);
// --base=DIR: compare another checkout (DIR: its server and its built out/, e.g. main's; or a front-end build alone)
// with this one, both with the same warm pool (--pool=N, default 1), instead of pool against no pool.
const flag = (k: string) => process.argv.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3);
const base = flag('base');
const warmPool = Number(flag('pool') ?? 1);
// --base-pool=N: the base's own pool size (e.g. main's default 0 against this checkout's default 1).
const basePool = Number(flag('base-pool') ?? warmPool);
const load0 = os.loadavg()[0]!;
const [A, B] = base ? (['base', 'branch'] as const) : (['pool', 'cold'] as const);
const servers: Record<string, Awaited<ReturnType<typeof startBenchServer>>> = base
  ? { base: await startBase(base, basePool), branch: await startBenchServer({ warmPool }) }
  : { pool: await startBenchServer({ warmPool: 1 }), cold: await startBenchServer({ warmPool: 0 }) };
const browser = await launchBrowser();
const out: Record<string, { wall: number; parsed: number; busy: number; top: [string, number][] }[]> = { [A]: [], [B]: [] };
try {
  const page = await newPlaygroundPage(browser, { viewport: { width: 1440, height: 900 } });
  await page.addInitScript(PROBE_INIT);
  for (let i = 0; i < runs + 1; i++) {
    for (const name of i % 2 ? [B, A] : [A, B]) {
      const srv = servers[name]!;
      await srv.destroyAll();
      await loadWarm(page, srv.url, 'dom');
      await page.waitForTimeout(300);
      const cdp = await page.context().newCDPSession(page);
      const events: Ev[] = [];
      cdp.on('Tracing.dataCollected', (e) => void events.push(...(e.value as unknown as Ev[])));
      const done = new Promise<void>((r) => cdp.once('Tracing.tracingComplete', () => r()));
      await cdp.send('Tracing.start', {
        traceConfig: { includedCategories: CATEGORIES, recordMode: 'recordAsMuchAsPossible' },
        transferMode: 'ReportEvents',
      });
      const r = await probe(page, 'prompt', () => page.click('[data-testid=start]'), 'click', 60_000);
      await cdp.send('Tracing.end');
      await done;
      await cdp.detach();
      await page.evaluate(() => sessionStorage.clear()); // the next load may be the other server's origin
      const b = busyAfterClick(events);
      if (i > 0) out[name]!.push({ wall: r.painted, parsed: r.parsed, busy: b.busyMs, top: b.top });
      console.error(
        `${name} ${i}: painted ${r.painted.toFixed(0)} ms, main thread CPU ${b.busyMs.toFixed(1)} ms; ${JSON.stringify(b.top.slice(0, 5))}`,
      );
    }
  }
} finally {
  await browser.close();
  for (const s of Object.values(servers)) await s.close();
}
const results = Object.entries(out).map(([name, xs]) => {
  const w = summarize(xs.map((x) => x.wall));
  const b = summarize(xs.map((x) => x.busy));
  return {
    server: name,
    runs: xs.length,
    paintedP50: w.p50,
    paintedP90: w.p90,
    paintedMin: w.min,
    paintedMax: w.max,
    busyP50: b.p50,
    busyMin: b.min,
    busyMax: b.max,
    top: xs[0]?.top,
    painted: xs.map((x) => Math.round(x.wall * 10) / 10),
  };
});
for (const r of results) console.log(JSON.stringify({ ...r, painted: undefined }));
// Kept in bench/results (git-ignored unless a doc cites it).
const stamp = new Date().toISOString().slice(0, 19).replace(/:/g, '-');
const tag = base ? `base-pool${basePool}-vs-branch-pool${warmPool}` : 'pool-vs-cold';
const file = new URL(`./results/trace-start-${tag}-${stamp}.json`, import.meta.url);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
const bench = `bench/trace-start.ts ${process.argv.slice(2).join(' ')}`;
const loadavg = `${load0.toFixed(1)} at start, ${os.loadavg()[0]!.toFixed(1)} at the end`;
writeFileSync(file, `${JSON.stringify({ bench, loadavg, results }, null, 1)}\n`);
console.error(`wrote ${file.pathname}`);
