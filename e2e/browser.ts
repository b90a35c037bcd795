// e2e helpers: launch the system Chromium (never a downloaded one) and read the xterm screen through window.__boxlab.
import { chromium, type Browser, type Page } from 'playwright-core';

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.BOXLAB_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}

/** The terminal's visible lines plus scrollback, as text (trailing spaces trimmed). */
export function screenText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const t = window.__boxlab?.term;
    if (!t) return '';
    const b = t.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < b.length; i++) lines.push((b.getLine(i)?.translateToString(true) ?? '').trimEnd());
    return lines.join('\n').replace(/\n+$/, '');
  });
}

/** Polls the screen until `re` matches; returns the match. */
export async function waitForScreen(page: Page, re: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
  const end = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < end) {
    last = await screenText(page);
    const m = last.match(re);
    if (m) return m;
    await page.waitForTimeout(50);
  }
  throw new Error(`screen never matched ${re}; last screen:\n${last.split('\n').slice(-12).join('\n')}`);
}

export function phase(page: Page): Promise<string | null> {
  return page.evaluate(() => window.__boxlab?.client.getView().phase ?? null);
}

/**
 * Waits until the client is in phase `want`, then until the page has drawn it: views are told of a new phase in the
 * next animation frame (components/terminal/BoxlabClient.ts), so the DOM lags the client's state by a frame or two.
 */
export async function waitForPhase(page: Page, want: string, timeoutMs = 15_000): Promise<void> {
  await page.waitForFunction((w) => window.__boxlab?.client.getView().phase === w, want, { timeout: timeoutMs });
  await page.evaluate(() => new Promise<void>((done) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 0)))));
}
