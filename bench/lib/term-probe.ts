// term-probe.ts: one in-page probe for any xterm.js page (Boxlab's playground, ttyd), so both are timed the same way:
// input event timeStamp → the terminal's buffer shows the expected line (parsed) → its DOM row shows it and the frame
// that drew it has finished (painted).
import type { Page } from 'playwright-core';

/**
 * Installed before the page's own scripts. Records the last keydown and click (capture phase, so before xterm),
 * counts the bytes of every binary WebSocket message, and offers __tp.arm(kind) → Promise<{parsed, painted}>.
 *
 * "Painted": xterm's DOM renderer rewrites rows in a requestAnimationFrame callback; a MutationObserver on
 * .xterm-rows sees the row change at the end of that callback, and a MessageChannel message posted then runs as the
 * next task, i.e. after the same frame's style, layout and paint on the main thread. Both pages get the same probe.
 */
export const PROBE_INIT = `
(() => {
  window.__name = (f) => f; // tsx (esbuild keepNames) wraps named functions in evaluate() bodies with __name()
  const tp = (window.__tp = { key: 0, click: 0, bytes: 0, frames: 0 });
  addEventListener('keydown', (e) => { tp.key = e.timeStamp; }, true);
  addEventListener('click', (e) => { tp.click = e.timeStamp; }, true);
  const WS = window.WebSocket;
  window.WebSocket = class extends WS {
    constructor(...a) {
      super(...a);
      this.addEventListener('message', (e) => {
        if (typeof e.data === 'string') return;
        tp.frames++;
        tp.bytes += e.data.byteLength ?? e.data.size ?? 0;
      });
    }
  };
  const term = () => (window.__boxlab && window.__boxlab.term) || window.term;
  const norm = (s) => (s || '').replace(/\\u00a0/g, ' ').trimEnd();
  // kind → test over (text of row y, cursor row y).
  const TESTS = {
    a: (row, y) => /[#$] a$/.test(row(y)),
    del: (row, y) => /[#$]$/.test(row(y)),
    prompt: (row, y) => /[#$]$/.test(row(y)),
    end: (row, y) => /[#$]$/.test(row(y)) && row(y - 1) === 'END',
  };
  tp.term = () => { const t = term(); return t ? { cols: t.cols, rows: t.rows, screenW: t.element.querySelector('.xterm-screen').getBoundingClientRect().width, screenH: t.element.querySelector('.xterm-screen').getBoundingClientRect().height } : null; };
  tp.arm = (kind, from = 'key', timeoutMs = 60000) => {
    const t = term();
    const test = TESTS[kind];
    const rowsEl = t.element.querySelector('.xterm-rows');
    const bytes0 = tp.bytes;
    return new Promise((resolve, reject) => {
      let parsed = null;
      const bufRow = (y) => norm(t.buffer.active.getLine(t.buffer.active.baseY + y)?.translateToString(true));
      const domRow = (y) => norm(rowsEl.children[y]?.textContent);
      const mc = new MessageChannel();
      let done = false;
      const finish = (err) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        d.dispose();
        mo.disconnect();
        if (err) return reject(err);
        const t0 = from === 'click' ? tp.click : tp.key;
        mc.port1.onmessage = () => resolve({ parsed: (parsed ?? performance.now()) - t0, painted: performance.now() - t0, bytes: tp.bytes - bytes0 });
        mc.port2.postMessage(0);
      };
      const b = () => t.buffer.active;
      const why = () => ' row: ' + JSON.stringify(bufRow(b().cursorY)) + ', dom: ' + JSON.stringify(domRow(b().cursorY)) + ', viewportY ' + b().viewportY + ', baseY ' + b().baseY;
      const timer = setTimeout(() => finish(new Error('probe ' + kind + ': nothing after ' + timeoutMs + ' ms;' + why())), timeoutMs);
      // Rows on screen are the buffer from viewportY; a page scrolled off the bottom shows the cursor row elsewhere.
      const domTest = () => { const off = b().baseY - b().viewportY; return test((y) => domRow(y + off), b().cursorY); };
      const d = t.onWriteParsed(() => {
        if (parsed !== null || !test(bufRow, b().cursorY)) return;
        parsed = performance.now();
        // Parsed but never seen painted within 5 s (a render skipped, a scrolled page): fail this sample, not the run.
        setTimeout(() => { if (!done) finish(new Error('probe ' + kind + ': parsed, not painted within 5 s;' + why())); }, 5000);
      });
      const mo = new MutationObserver(() => {
        if (domTest()) finish();
      });
      mo.observe(rowsEl, { childList: true, subtree: true, characterData: true });
    });
  };
})();
`;

export interface ProbeResult {
  parsed: number;
  painted: number;
  bytes: number;
}

/** Arms the probe, runs `act` (a key press, a click), and waits for the result measured in the page. */
export async function probe(
  page: Page,
  kind: 'a' | 'del' | 'prompt' | 'end',
  act: () => Promise<void>,
  from: 'key' | 'click' = 'key',
  timeoutMs = 60_000,
): Promise<ProbeResult> {
  await page.evaluate(
    ({ kind, from, timeoutMs }) => {
      const w = window as unknown as { __tp: { arm(k: string, f: string, t: number): Promise<unknown> }; __tpr: Promise<unknown> };
      w.__tpr = w.__tp.arm(kind, from, timeoutMs);
      w.__tpr.catch(() => {}); // read (and rethrown) by the evaluate below
    },
    { kind, from, timeoutMs },
  );
  await act();
  return page.evaluate(() => (window as unknown as { __tpr: Promise<ProbeResult> }).__tpr);
}

/** The terminal's size and its screen element's pixel size. */
export function termSize(page: Page): Promise<{ cols: number; rows: number; screenW: number; screenH: number } | null> {
  return page.evaluate(() =>
    (window as unknown as { __tp: { term(): { cols: number; rows: number; screenW: number; screenH: number } | null } }).__tp.term(),
  );
}

/** Resizes the viewport until the terminal (fitted to its pane by the page) is cols x rows; returns what it got. */
export async function fitTo(page: Page, cols: number, rows: number): Promise<{ cols: number; rows: number }> {
  let vp = page.viewportSize() ?? { width: 1440, height: 900 };
  for (let i = 0; i < 16; i++) {
    const s = await termSize(page);
    if (!s) throw new Error('no terminal in the page');
    if (s.cols === cols && s.rows === rows) break;
    // After a few big steps, creep: the pane around the screen is not a whole number of cells.
    const cw = i < 4 ? s.screenW / s.cols : 3;
    const ch = i < 4 ? s.screenH / s.rows : 3;
    // Aim at the middle of the target cell: fit addons floor (pane / cell size).
    const step = (want: number, got: number, cell: number) =>
      want === got ? 0 : (want - got) * cell + (got < want ? cell / 2 : -cell / 2);
    vp = { width: Math.round(vp.width + step(cols, s.cols, cw)), height: Math.round(vp.height + step(rows, s.rows, ch)) };
    await page.setViewportSize(vp);
    await page.waitForTimeout(400);
  }
  const s = (await termSize(page))!;
  return { cols: s.cols, rows: s.rows };
}

/**
 * Puts the mouse over the middle of the terminal. Chromium sends a page synthetic mouse moves after layout changes
 * under a pointer it has seen (hit test, xterm's link detection), so both pages must have it in the same place: over
 * the terminal, where a user's pointer usually rests (the Start click leaves it there in the playground).
 */
export async function pointerOnTerminal(page: Page): Promise<void> {
  const r = await page.locator('.xterm-screen').boundingBox();
  if (r) await page.mouse.move(r.x + r.width / 2, r.y + r.height / 2);
}
