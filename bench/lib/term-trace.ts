// term-trace.ts: a Chromium performance trace (CDP Tracing) around n keystrokes in a terminal page, summarised per key:
// main-thread busy time, frames, style recalcs, layouts, paints, and which DOM events fired (animationstart, ...).
import type { Page } from 'playwright-core';
import { probe } from './term-probe.ts';

interface TraceEvent {
  name: string;
  cat: string;
  ph: string;
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  args?: { name?: string; data?: { type?: string; url?: string; functionName?: string } };
}

export interface KeyTrace {
  keys: number;
  /** Per key: ms of top-level tasks on the renderer main thread. */
  busyMs: number;
  /** Per key. */
  frames: number;
  styleRecalcs: number;
  layouts: number;
  paints: number;
  /** ms per key by trace event name, top 12 (self-inclusive: nested events counted in their parents too). */
  top: [string, number][];
  /** DOM events dispatched per key, by type. */
  events: Record<string, number>;
  /** ms per key of JS by script URL (FunctionCall / EvaluateScript). */
  scripts: [string, number][];
}

const CATEGORIES = [
  'devtools.timeline',
  'disabled-by-default-devtools.timeline',
  'disabled-by-default-devtools.timeline.frame',
  'blink',
  'cc',
  'toplevel',
  'v8.execute',
];

export async function traceKeys(page: Page, n: number, gapMs = 60): Promise<KeyTrace> {
  const cdp = await page.context().newCDPSession(page);
  const events: TraceEvent[] = [];
  cdp.on('Tracing.dataCollected', (e) => void events.push(...(e.value as unknown as TraceEvent[])));
  const done = new Promise<void>((r) => cdp.once('Tracing.tracingComplete', () => r()));
  await cdp.send('Tracing.start', {
    traceConfig: { includedCategories: CATEGORIES, recordMode: 'recordAsMuchAsPossible' },
    transferMode: 'ReportEvents',
  });
  await page.waitForTimeout(200);
  for (let i = 0; i < n; i++) {
    const a = i % 2 === 0;
    await probe(page, a ? 'a' : 'del', () => page.keyboard.press(a ? 'a' : 'Backspace'), 'key', 10_000);
    await page.waitForTimeout(gapMs);
  }
  await cdp.send('Tracing.end');
  await done;
  await cdp.detach();
  return summarizeTrace(events, n);
}

export function summarizeTrace(events: TraceEvent[], keys: number): KeyTrace {
  // The traced page's renderer main thread: the one that dispatched the keydowns (the trace covers every renderer).
  const count = new Map<string, number>();
  for (const e of events)
    if (e.name === 'EventDispatch' && e.args?.data?.type === 'keydown')
      count.set(`${e.pid}:${e.tid}`, (count.get(`${e.pid}:${e.tid}`) ?? 0) + 1);
  const main = [...count.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  const onMain = events.filter((e) => `${e.pid}:${e.tid}` === main);
  const per = (x: number) => x / keys;
  // Busy = the union of task spans (RunTask and ThreadControllerImpl::RunTask nest; count no time twice).
  const spans = onMain
    .filter((e) => e.ph === 'X' && (e.name === 'ThreadControllerImpl::RunTask' || e.name === 'RunTask'))
    .map((e): [number, number] => [e.ts, e.ts + (e.dur ?? 0)])
    .sort((a, b) => a[0] - b[0]);
  let busy = 0;
  let end = -Infinity;
  for (const [a, b] of spans) {
    if (b <= end) continue;
    busy += b - Math.max(a, end);
    end = b;
  }
  busy /= 1000;
  const nOf = (name: string) =>
    onMain.filter((e) => e.name === name && (e.ph === 'X' || e.ph === 'B' || e.ph === 'I' || e.ph === 'i')).length;
  const byName = new Map<string, number>();
  for (const e of onMain) if (e.ph === 'X') byName.set(e.name, (byName.get(e.name) ?? 0) + (e.dur ?? 0) / 1000);
  const ev: Record<string, number> = {};
  for (const e of onMain) if (e.name === 'EventDispatch' && e.args?.data?.type) ev[e.args.data.type] = (ev[e.args.data.type] ?? 0) + 1;
  for (const [k, n] of Object.entries(ev)) ev[k] = Math.round(per(n) * 100) / 100;
  const scripts = new Map<string, number>();
  for (const e of onMain) {
    if (e.ph !== 'X' || (e.name !== 'FunctionCall' && e.name !== 'EvaluateScript' && e.name !== 'v8.callFunction')) continue;
    const url = (e.args?.data?.url ?? '?').replace(/^.*\//, '');
    scripts.set(url, (scripts.get(url) ?? 0) + (e.dur ?? 0) / 1000);
  }
  return {
    keys,
    busyMs: per(busy),
    frames: per(onMain.filter((e) => e.name === 'ProxyMain::BeginMainFrame' || e.name === 'BeginMainThreadFrame').length),
    styleRecalcs: per(nOf('UpdateLayoutTree') + nOf('RecalculateStyles')),
    layouts: per(nOf('Layout')),
    paints: per(nOf('Paint')),
    top: [...byName.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, Number(process.env.BOXLAB_TRACE_TOP ?? 12))
      .map(([k, v]) => [k, Math.round(per(v) * 100) / 100]),
    events: ev,
    scripts: [...scripts.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 6)
      .map(([k, v]) => [k, Math.round(per(v) * 100) / 100]),
  };
}
