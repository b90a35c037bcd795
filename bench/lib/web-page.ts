// web-page.ts: in-page measurements of the playground in Chromium: click-to-prompt, flood throughput with long tasks, Ctrl-C.
// Timestamps are taken inside the page (performance.now, event.timeStamp), so Playwright's round trips add nothing.
import type { Browser, Page } from 'playwright-core';

/** Collects every long task (> 50 ms on the main thread) of the page from its first script on. */
const LONGTASK_INIT = `
  window.__name = (f) => f; // tsx (esbuild keepNames) wraps named functions in evaluate() bodies with __name()
  window.__lt = [];
  try {
    new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__lt.push({ start: e.startTime, dur: e.duration }); })
      .observe({ type: 'longtask', buffered: true });
  } catch {}
`;

export interface WarmPageOptions {
  renderer?: 'webgl' | 'dom';
  viewport?: { width: number; height: number };
}

export async function newPlaygroundPage(browser: Browser, opts: WarmPageOptions = {}): Promise<Page> {
  const ctx = await browser.newContext({ viewport: opts.viewport ?? { width: 1440, height: 900 }, colorScheme: 'dark' });
  const page = await ctx.newPage();
  await page.addInitScript(LONGTASK_INIT);
  page.on('pageerror', (e) => console.error(`[bench] page error: ${e.message}`));
  return page;
}

/** Loads the page with no stored session and waits until Start can be clicked (terminal open, cover shown). */
export async function loadWarm(page: Page, url: string, renderer?: 'webgl' | 'dom'): Promise<string> {
  // The page resumes the session stored in this tab on load: forget it first, so Start shows.
  if (page.url().startsWith(url)) await page.evaluate(() => sessionStorage.clear());
  await page.goto(`${url}/${renderer === 'dom' ? '?renderer=dom' : ''}`);
  await page.waitForFunction(() => window.__boxlab !== undefined);
  await page.waitForSelector('[data-testid=start]', { state: 'visible' });
  await page.waitForTimeout(400); // the Start cover fades in once the terminal is ready
  return page.evaluate(() => window.__boxlab!.renderer);
}

export interface ClickToPrompt {
  /** Click → the prompt is in the xterm buffer (parsed). */
  parsedMs: number;
  /** … → the next animation frame after that (the frame that paints it). */
  frameMs: number;
  /** Click → hello, the first stage event, each state (creating, running) and the first output byte. */
  marks: Record<string, number>;
}

/** Clicks Start on a warm page and times, in the page, how long until the shell's prompt is parsed and painted. */
export async function clickToPrompt(page: Page, timeoutMs = 30_000): Promise<ClickToPrompt> {
  await page.evaluate(() => {
    const w = window as unknown as { __cp: Promise<unknown> };
    w.__cp = new Promise((resolve) => {
      // On the document: React may swap the button element between this call and the click.
      const onClick = (ev: Event) => {
        if (!(ev.target as Element | null)?.closest?.('[data-testid=start]')) return;
        document.removeEventListener('click', onClick, true);
        {
          const t0 = ev.timeStamp;
          const { term, client } = window.__boxlab!;
          const marks: Record<string, number> = {};
          // Control messages as the client handles them (view notifications are batched per frame).
          const unsub = client.onControl((msg) => {
            const key =
              msg.type === 'state'
                ? msg.state
                : msg.type === 'hello' || (msg.type === 'stage' && msg.event.stage === 'prepare_state')
                  ? msg.type
                  : msg.type === 'stages'
                    ? 'stage'
                    : '';
            if (key && !(key in marks)) marks[key] = performance.now() - t0;
          });
          const d = term.onWriteParsed(() => {
            if (!('firstByte' in marks) && client.metrics.bytesIn > 0) marks.firstByte = performance.now() - t0;
            const b = term.buffer.active;
            const line = b.getLine(b.baseY + b.cursorY)?.translateToString(true) ?? '';
            if (!/[#$] *$/.test(line)) return;
            const parsedMs = performance.now() - t0;
            d.dispose();
            unsub();
            requestAnimationFrame(() => resolve({ parsedMs, frameMs: performance.now() - t0, marks }));
          });
        }
      };
      document.addEventListener('click', onClick, true);
    });
  });
  await page.click('[data-testid=start]');
  return page.evaluate((ms) => {
    const w = window as unknown as { __cp: Promise<ClickToPrompt> };
    return Promise.race([w.__cp, new Promise<never>((_, rej) => setTimeout(() => rej(new Error('no prompt after Start')), ms))]);
  }, timeoutMs);
}

export interface PageFlood {
  bytes: number;
  ms: number;
  mbPerSec: number;
  /** Rate over the middle 80 % of the run (start-up and the tail excluded), from 100 ms samples. */
  steadyMbPerSec: number;
  longTasks: number;
  maxLongTaskMs: number;
  acks: number;
  /** Binary frames the page received. */
  frames: number;
}

/**
 * Types `cmd; echo END` into the shell and waits, in the page, until the line "END" and the prompt after it are
 * parsed. Output rate = bytes received / time; long tasks are those that started during the run.
 */
export async function floodInPage(page: Page, cmd: string, timeoutMs = 300_000): Promise<PageFlood> {
  return page.evaluate(
    ({ cmd, timeoutMs }) =>
      new Promise<PageFlood>((resolve, reject) => {
        const { term, client } = window.__boxlab!;
        const lt = (window as unknown as { __lt: { start: number; dur: number }[] }).__lt;
        const m = client.metrics;
        const b0 = m.bytesIn;
        const a0 = m.acks;
        let frames = 0;
        const ws = (client as unknown as { ws: WebSocket | null }).ws;
        const countFrame = () => frames++;
        ws?.addEventListener('message', countFrame);
        const samples: [number, number][] = [];
        const t0 = performance.now();
        const sampler = setInterval(() => samples.push([performance.now(), m.bytesIn]), 100);
        const timer = setTimeout(() => finish(new Error(`flood did not end within ${timeoutMs} ms`)), timeoutMs);
        const d = term.onWriteParsed(() => {
          const b = term.buffer.active;
          const y = b.baseY + b.cursorY;
          if (!/[#$] *$/.test(b.getLine(y)?.translateToString(true) ?? '')) return;
          if ((b.getLine(y - 1)?.translateToString(true) ?? '') !== 'END') return;
          finish();
        });
        function finish(err?: Error) {
          const t1 = performance.now();
          clearInterval(sampler);
          clearTimeout(timer);
          d.dispose();
          ws?.removeEventListener('message', countFrame);
          if (err) return reject(err);
          const bytes = m.bytesIn - b0;
          const ms = t1 - t0;
          const lo = samples[Math.floor(samples.length * 0.1)];
          const hi = samples[Math.floor(samples.length * 0.9)];
          const steady = lo && hi && hi[0] > lo[0] ? (hi[1] - lo[1]) / 1e3 / (hi[0] - lo[0]) : bytes / 1e3 / ms;
          const tasks = lt.filter((e) => e.start >= t0 && e.start <= t1);
          resolve({
            bytes,
            ms,
            mbPerSec: bytes / 1e3 / ms,
            steadyMbPerSec: steady,
            longTasks: tasks.length,
            maxLongTaskMs: tasks.reduce((a, e) => Math.max(a, e.dur), 0),
            acks: m.acks - a0,
            frames,
          });
        }
        term.input(`${cmd}; echo; echo E""ND\r`, true);
      }),
    { cmd, timeoutMs },
  );
}

export interface CtrlCResult {
  /**
   * Keydown of Ctrl-C (event.timeStamp) → the frame that paints the "^C" echo. The tty writes that echo into the
   * output queue the moment it reads the key and sends SIGINT (termios(3) ECHOCTL, ISIG), so every flood byte is
   * before it: this is when the output has stopped on screen. null if no "^C" came (a box that ignored it).
   */
  echoFrameMs: number | null;
  /** Keydown → the last byte received by the page (the new prompt included). */
  lastByteMs: number;
  /** … → the prompt after ^C is parsed (the flood's output has all been parsed). */
  promptParsedMs: number;
  /** … → the animation frame after that. */
  promptFrameMs: number;
  bytesAfter: number;
  longTasks: number;
  maxLongTaskMs: number;
}

/** Starts an endless flood, lets it run floodMs, presses Ctrl-C like a user and times the stop in the page. */
export async function ctrlCInPage(page: Page, cmd: string, floodMs: number): Promise<CtrlCResult> {
  await page.evaluate((cmd) => {
    const w = window as unknown as { __cc: Promise<unknown> };
    const { term, client } = window.__boxlab!;
    const lt = (window as unknown as { __lt: { start: number; dur: number }[] }).__lt;
    const m = client.metrics;
    w.__cc = new Promise((resolve) => {
      const ta = document.querySelector('.xterm-helper-textarea')!;
      ta.addEventListener(
        'keydown',
        (ev) => {
          const e = ev as KeyboardEvent;
          const t0 = e.timeStamp;
          const from = m.bytesIn;
          let lastByte = t0;
          let seen = from;
          let echoFrameMs: number | null = null;
          let echoSeen = false;
          let prevLast = -1;
          const ws = (client as unknown as { ws: WebSocket }).ws;
          const onMsg = (me: MessageEvent) => {
            if (typeof me.data === 'string' || m.bytesIn === seen) return;
            seen = m.bytesIn;
            lastByte = performance.now();
            // The flood commands never print '^'; the echo may straddle two frames, so look at the seam too.
            const bytes = new Uint8Array(me.data as ArrayBuffer);
            let found = prevLast === 0x5e && bytes[0] === 0x43;
            for (let i = bytes.indexOf(0x5e); !found && i !== -1 && i < bytes.length - 1; i = bytes.indexOf(0x5e, i + 1))
              found = bytes[i + 1] === 0x43;
            prevLast = bytes[bytes.length - 1] ?? -1;
            if (echoSeen || !found) return;
            echoSeen = true;
            // Runs once the parser has consumed everything written so far, this frame included.
            term.write('', () => requestAnimationFrame(() => (echoFrameMs = performance.now() - t0)));
          };
          ws.addEventListener('message', onMsg);
          const d = term.onWriteParsed(() => {
            const b = term.buffer.active;
            const y = b.baseY + b.cursorY;
            if (!/[#$] *$/.test(b.getLine(y)?.translateToString(true) ?? '')) return;
            const promptParsedMs = performance.now() - t0;
            d.dispose();
            requestAnimationFrame(() => {
              const promptFrameMs = performance.now() - t0;
              setTimeout(() => {
                ws.removeEventListener('message', onMsg);
                const tasks = lt.filter((x) => x.start + x.dur >= t0);
                resolve({
                  echoFrameMs,
                  lastByteMs: lastByte - t0,
                  promptParsedMs,
                  promptFrameMs,
                  bytesAfter: m.bytesIn - from,
                  longTasks: tasks.length,
                  maxLongTaskMs: tasks.reduce((a, x) => Math.max(a, x.dur), 0),
                });
              }, 300);
            });
          });
        },
        { once: true, capture: true },
      );
    });
    term.input(`${cmd}\r`, true);
  }, cmd);
  await page.waitForTimeout(floodMs);
  await page.keyboard.press('Control+c');
  return page.evaluate(() => (window as unknown as { __cc: Promise<CtrlCResult> }).__cc);
}

/**
 * The ceiling of the page itself: base64-like 76-column lines generated in the page and written straight to the
 * playground's xterm (no network, no server), 64 KiB per write, at most 256 KiB unparsed (the server's high watermark).
 */
export async function xtermCeiling(
  page: Page,
  totalBytes: number,
): Promise<{ mbPerSec: number; longTasks: number; maxLongTaskMs: number }> {
  return page.evaluate(async (total) => {
    const t = window.__boxlab!.term;
    const lt = (window as unknown as { __lt: { start: number; dur: number }[] }).__lt;
    const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const bufs: Uint8Array[] = [];
    for (let k = 0; k < 16; k++) {
      let s = '';
      while (s.length < 65536) s += Array.from({ length: 76 }, () => chars[Math.floor(Math.random() * 64)]).join('') + '\r\n';
      bufs.push(new TextEncoder().encode(s));
    }
    let sent = 0;
    let parsed = 0;
    let i = 0;
    const t0 = performance.now();
    await new Promise<void>((done) => {
      const pump = () => {
        while (sent - parsed < 256 * 1024 && sent < total) {
          const b = bufs[i++ % bufs.length]!; // modulo its length
          sent += b.length;
          t.write(b, () => {
            parsed += b.length;
            if (parsed >= total) done();
            else pump();
          });
        }
      };
      pump();
    });
    const t1 = performance.now();
    const tasks = lt.filter((e) => e.start >= t0 && e.start <= t1);
    t.write('\x1bc');
    return { mbPerSec: parsed / 1e3 / (t1 - t0), longTasks: tasks.length, maxLongTaskMs: tasks.reduce((a, e) => Math.max(a, e.dur), 0) };
  }, totalBytes);
}
