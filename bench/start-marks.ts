// start-marks.ts: `node --import tsx bench/start-marks.ts [runs] [--base=DIR] [--pool=N]`: where the time between a
// click on Start and the painted prompt goes, in the page: POST sent/answered (resource timing), socket hello, states,
// first byte, prompt parsed, its frame. With --base, main's build (DIR) and this checkout's, interleaved.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { launchBrowser } from '../e2e/browser.ts';
import { clickToPrompt, loadWarm, newPlaygroundPage } from './lib/web-page.ts';
import { startBase, startBenchServer, type BenchServer } from './lib/web-server.ts';
import { summarize } from './lib/stats.ts';

const runs = Number(process.argv[2] ?? 8);
const flag = (k: string) => process.argv.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3);
const base = flag('base');
const warmPool = Number(flag('pool') ?? 1);
const load0 = os.loadavg()[0]!;
// The server's own marks of each Start (POST in/out, upgrade, hello, running, first frame; bench/lib/server-marks.ts).
process.env.BOXLAB_BENCH_MARKS = '1';
const serverMarks = (srv: BenchServer): Promise<Record<string, number>> =>
  typeof srv.marks === 'function' ? srv.marks() : Promise.resolve({}); // a base checkout's server may not have them
const servers: [string, BenchServer][] = base
  ? [
      ['base', await startBase(base, warmPool)],
      ['branch', await startBenchServer({ warmPool })],
    ]
  : [['branch', await startBenchServer({ warmPool })]];
const browser = await launchBrowser();
const out: Record<string, Record<string, number>[]> = Object.fromEntries(servers.map(([n]) => [n, []]));
try {
  const page = await newPlaygroundPage(browser, { viewport: { width: 1440, height: 900 } });
  // coverGone: the Start cover (data-testid=overlay, opaque) left the DOM: before that the prompt is drawn under it.
  await page.addInitScript(`addEventListener('click', (e) => { window.__clickT = e.timeStamp; window.__coverGone = undefined; window.__wsBin = 0;
      const mo = new MutationObserver(() => { if (!document.querySelector('[data-testid=overlay]')) { mo.disconnect(); window.__coverGone = performance.now(); } });
      mo.observe(document.body, { childList: true, subtree: true }); }, true);
    { const WS = window.WebSocket; window.WebSocket = class extends WS { constructor(...a) { window.__wsT = performance.now(); super(...a);
      this.addEventListener('open', () => { window.__wsOpen = performance.now(); });
      this.addEventListener('message', (e) => { if (typeof e.data !== 'string' && !window.__wsBin) window.__wsBin = performance.now(); }); } }; }`);
  for (let i = 0; i < runs + 1; i++) {
    for (const [name, srv] of i % 2 ? [...servers].reverse() : servers) {
      await srv.destroyAll();
      await loadWarm(page, srv.url, 'dom');
      await page.waitForTimeout(300);
      await page.evaluate(() => performance.clearResourceTimings());
      await serverMarks(srv); // from here on: what came before (a previous box's output) is not this Start's
      const r = await clickToPrompt(page, 60_000);
      const post = await page.evaluate(() => {
        const e = performance.getEntriesByType('resource').find((x) => /\/api\/(session|join)$/.test(x.name)) as
          | PerformanceResourceTiming
          | undefined;
        const w = window as unknown as { __clickT: number; __wsT: number; __wsOpen: number; __coverGone?: number; __wsBin: number };
        const c = w.__clickT;
        // No POST when the socket asks for the session itself (NEW_SESSION): its marks are NaN.
        return {
          clickEpoch: performance.timeOrigin + c,
          postStart: e ? e.startTime - c : NaN,
          postEnd: e ? e.responseEnd - c : NaN,
          wsNew: w.__wsT - c,
          wsOpen: w.__wsOpen - c,
          wsBin: w.__wsBin - c,
          coverGone: (w.__coverGone ?? NaN) - c,
        };
      });
      await page.evaluate(() => sessionStorage.clear());
      const m: Record<string, number> = { ...r.marks, parsed: r.parsedMs, frame: r.frameMs };
      if (post) {
        const { clickEpoch, ...rest } = post;
        Object.assign(m, rest);
        for (const [k, v] of Object.entries(await serverMarks(srv))) m[k] = v - clickEpoch;
      } else await serverMarks(srv);
      if (i > 0) out[name]!.push(m);
      console.error(
        `${name} ${i}: ${JSON.stringify(
          Object.fromEntries(
            Object.entries(m)
              .sort((a, b) => a[1] - b[1])
              .map(([k, v]) => [k, Math.round(v)]),
          ),
        )} load ${os.loadavg()[0]!.toFixed(1)}`,
      );
    }
  }
} finally {
  await browser.close();
  for (const [, s] of servers) await s.close();
}
const summary: Record<string, { p50: Record<string, number>; frameP90: number }> = {};
for (const [name, xs] of Object.entries(out)) {
  const keys = [
    'postStart',
    'srvPostIn',
    'srvPostOut',
    'postEnd',
    'wsNew',
    'srvUpgradeIn',
    'srvAttach',
    'srvHello',
    'wsOpen',
    'hello',
    'srvRunning',
    'srvFirstBin',
    'running',
    'wsBin',
    'firstByte',
    'parsed',
    'frame',
    'coverGone',
  ];
  console.log(
    name,
    JSON.stringify(Object.fromEntries(keys.map((k) => [k, Math.round(summarize(xs.map((x) => x[k] ?? NaN).filter(Number.isFinite)).p50)]))),
  );
  const frame = summarize(xs.map((x) => x.frame ?? NaN));
  console.log(
    name,
    `frame p50 ${frame.p50.toFixed(0)} p90 ${frame.p90.toFixed(0)} min ${frame.min.toFixed(0)} max ${frame.max.toFixed(0)}`,
  );
  summary[name] = {
    p50: Object.fromEntries(keys.map((k) => [k, Math.round(summarize(xs.map((x) => x[k] ?? NaN).filter(Number.isFinite)).p50 * 10) / 10])),
    frameP90: frame.p90,
  };
}
const stamp = new Date().toISOString().slice(0, 19).replace(/:/g, '-');
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
const file = new URL(`./results/start-marks-${base ? 'base-vs-branch' : 'branch'}-pool${warmPool}-${stamp}.json`, import.meta.url);
const loadavg = `${load0.toFixed(1)} at start, ${os.loadavg()[0]!.toFixed(1)} at the end`;
writeFileSync(
  file,
  `${JSON.stringify({ bench: `bench/start-marks.ts ${process.argv.slice(2).join(' ')}`, loadavg, summary, samples: out }, null, 1)}\n`,
);
console.error(`wrote ${file.pathname}`);
