// trace-start.ts: `node --import tsx bench/trace-start.ts [runs]`: click Start → prompt painted in Chromium with a CDP
// trace around each click, warm pool on and off, alternating. Reports wall time and the page's renderer main-thread
// CPU time (thread time of its outermost tasks from the click on): on a loaded machine the wall time is mostly waiting
// for a CPU, the thread time is what the page itself needs, i.e. what a quiet machine would still pay.
import { launchBrowser } from '../e2e/browser.ts';
import { PROBE_INIT, probe } from './lib/term-probe.ts';
import { loadWarm, newPlaygroundPage } from './lib/web-page.ts';
import { startBenchServer } from './lib/web-server.ts';
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
const CATEGORIES = ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'toplevel', 'v8.execute', 'blink'];

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
const servers = { pool: await startBenchServer({ warmPool: 1 }), cold: await startBenchServer({ warmPool: 0 }) };
const browser = await launchBrowser();
const out: Record<string, { wall: number; parsed: number; busy: number; top: [string, number][] }[]> = { pool: [], cold: [] };
try {
  const page = await newPlaygroundPage(browser, { viewport: { width: 1440, height: 900 } });
  await page.addInitScript(PROBE_INIT);
  for (let i = 0; i < runs + 1; i++) {
    for (const name of (i % 2 ? ['cold', 'pool'] : ['pool', 'cold']) as ('pool' | 'cold')[]) {
      const srv = servers[name];
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
  await servers.pool.close();
  await servers.cold.close();
}
for (const [name, xs] of Object.entries(out)) {
  const w = summarize(xs.map((x) => x.wall));
  const b = summarize(xs.map((x) => x.busy));
  console.log(
    JSON.stringify({
      server: name,
      runs: xs.length,
      paintedP50: w.p50,
      paintedMin: w.min,
      paintedMax: w.max,
      busyP50: b.p50,
      busyMin: b.min,
      busyMax: b.max,
      top: xs[0]?.top,
    }),
  );
}
