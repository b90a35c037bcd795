// trace-terminal.ts: `node --import tsx bench/trace-terminal.ts [keys]`: a Chromium trace of keystrokes in Boxlab's
// playground and in ttyd (same harness as the terminal-peers section), summarised per key, as JSON on stdout.
import { launchBrowser } from '../e2e/browser.ts';
import { fitTo, pointerOnTerminal } from './lib/term-probe.ts';
import { traceKeys } from './lib/term-trace.ts';
import { findTtyd, startTtyd } from './lib/ttyd-peer.ts';
import { startBenchServer } from './lib/web-server.ts';
import { boxlabPage, ttydPage } from './sections/terminal-peers.ts';

const keys = Number(process.argv[2] ?? 50);
const srv = await startBenchServer({});
const bin = findTtyd();
const peer = bin
  ? await startTtyd(bin, Number(process.env.BOXLAB_BENCH_TTYD_PORT ?? 47012), process.env.BOXLAB_IMAGE ?? '/var/lib/boxlab/images/busybox')
  : null;
const browser = await launchBrowser();
try {
  const pages = { boxlab: await boxlabPage(browser, srv), ...(peer ? { ttyd: await ttydPage(browser, peer) } : {}) };
  for (const [name, page] of Object.entries(pages)) {
    await fitTo(page, 113, 41);
    await pointerOnTerminal(page);
    // biome-ignore lint/suspicious/noExplicitAny: the page's debug globals (Boxlab's or the peer's) have no type here
    await page.evaluate(() => ((window as any).__boxlab?.term ?? (window as any).term).focus());
    // BOXLAB_TRACE_EVAL: a change to try in the Boxlab page first (e.g. "__boxlab.term.options.cursorBlink = false").
    if (name === 'boxlab' && process.env.BOXLAB_TRACE_EVAL) await page.evaluate(process.env.BOXLAB_TRACE_EVAL);
    await page.waitForTimeout(500);
    console.log(JSON.stringify({ page: name, ...(await traceKeys(page, keys)) }));
  }
} finally {
  await browser.close();
  await peer?.close();
  await srv.close();
}
