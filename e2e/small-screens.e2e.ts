// e2e of what a newcomer meets on a small screen (a phone at 390x844, a browser docked beside slides at 900x700):
// no horizontal overflow, the header's buttons in view, at least 24 terminal rows, and notices that never cover the
// terminal's text. Real web server over the FakeSandbox shell (no root needed).
// Run: node --import tsx --test e2e/small-screens.e2e.ts (after the Next build).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, waitForPhase, waitForScreen } from './browser.ts';
import { startMockServer } from './mock-server.ts';
import { runCommand } from './terminal-actions.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = `${root}e2e/output`;
const dbDir = mkdtempSync(path.join(os.tmpdir(), 'boxlab-e2e-small-'));
let browser: Browser;
let server: Awaited<ReturnType<typeof startMockServer>>;

/** The sizes of the issue; 360x740 (a small Android phone) for overflow only. */
const SIZES = [
  { width: 390, height: 844, minRows: 24 },
  { width: 900, height: 700, minRows: 24 },
  { width: 360, height: 740, minRows: 0 },
];

before(async () => {
  assert.ok(existsSync(`${root}out/index.html`), 'front end not built: run `NEXT_TELEMETRY_DISABLED=1 npx next build` first');
  mkdirSync(outDir, { recursive: true });
  server = await startMockServer({
    maxSessions: 20,
    course: { dbPath: path.join(dbDir, 'boxlab.db'), instructorToken: 'e2e-small-screens-token-0123456789' },
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
  rmSync(dbDir, { recursive: true, force: true });
});

async function openAt(size: { width: number; height: number }, url: string): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: size.width, height: size.height }, colorScheme: 'dark' });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.log(`# page error: ${e.message}`));
  await page.goto(url);
  await page.waitForFunction(() => window.__boxlab !== undefined);
  return page;
}

/** Horizontal overflow of the page, and header controls sticking out of the viewport. */
function overflow(page: Page) {
  return page.evaluate(() => {
    const doc = document.documentElement;
    const out = [...document.querySelectorAll('header a, header button')]
      .map((e) => ({ label: e.getAttribute('aria-label') ?? e.textContent ?? '', r: e.getBoundingClientRect() }))
      .filter(({ r }) => r.width > 0 && (r.right > window.innerWidth + 0.5 || r.left < -0.5))
      .map(({ label, r }) => `${label.trim()} at ${Math.round(r.left)}..${Math.round(r.right)}`);
    return { scrollWidth: doc.scrollWidth, clientWidth: doc.clientWidth, out };
  });
}

for (const size of SIZES) {
  for (const where of ['playground', 'lesson'] as const) {
    test(`${where} at ${size.width}x${size.height}: no horizontal overflow${size.minRows ? `, >= ${size.minRows} terminal rows` : ''}`, async () => {
      const page = await openAt(size, where === 'playground' ? server.url : `${server.url}/lessons/uts-namespace`);
      if (where === 'playground') await page.click('[data-testid=start]'); // a lesson starts its box by itself
      await waitForPhase(page, 'running');
      await waitForScreen(page, /\$$/);
      const got = await overflow(page);
      assert.deepEqual(got.out, [], 'every header control in view');
      assert.ok(got.scrollWidth <= got.clientWidth, `page ${got.scrollWidth} px wide in a ${got.clientWidth} px window`);
      const theme = page.locator('header button[aria-label*="theme"]');
      assert.ok(await theme.isVisible(), 'the theme button shows');
      if (size.minRows) {
        const rows = await page.evaluate(() => window.__boxlab!.term.rows);
        assert.ok(rows >= size.minRows, `${rows} rows`);
        // What the shell sees, through the pty.
        const stty = await runCommand(page, 'stty size');
        assert.ok(Number(stty.split(' ')[0]) >= size.minRows, `stty size: ${stty}`);
        // The whole terminal is on screen: at once on the playground (the x-ray may be below it); on a lesson, where
        // the steps come first, once a step's command runs (the page scrolls to it).
        if (where === 'lesson') {
          await page.locator('[data-testid=cmd]').first().click();
          await page.waitForTimeout(800); // the smooth scroll
        }
        const box = await page.locator('[data-testid=terminal]').boundingBox();
        assert.ok(box && box.y >= 0 && box.y + box.height <= size.height, `terminal at ${box?.y}..${box && box.y + box.height}`);
      }
      await page.screenshot({ path: `${outDir}/small-${where}-${size.width}x${size.height}.png` });
      await page.context().close();
    });
  }
}

for (const size of SIZES) {
  test(`the lesson list at ${size.width}x${size.height}: no horizontal overflow`, async () => {
    const ctx = await browser.newContext({ viewport: { width: size.width, height: size.height }, colorScheme: 'dark' });
    const page = await ctx.newPage();
    await page.goto(`${server.url}/lessons`);
    await page.waitForSelector('[data-testid=lesson-xray-tour]');
    const got = await overflow(page);
    assert.deepEqual(got.out, []);
    assert.ok(got.scrollWidth <= got.clientWidth, `page ${got.scrollWidth} px wide in a ${got.clientWidth} px window`);
    await ctx.close();
  });
}

/** The notice's box and the terminal's do not overlap. */
async function disjoint(page: Page, notice: string): Promise<void> {
  const a = await page.locator(notice).boundingBox();
  const t = await page.locator('[data-testid=terminal]').boundingBox();
  assert.ok(a && t, 'both shown');
  const overlap = a.x < t.x + t.width && t.x < a.x + a.width && a.y < t.y + t.height && t.y < a.y + a.height;
  assert.ok(!overlap, `${notice} at y ${a.y}..${a.y + a.height} overlaps the terminal at ${t.y}..${t.y + t.height}`);
}

test('after exit the "Start again" notice sits below the terminal: the last lines stay readable', async () => {
  const page = await openAt({ width: 900, height: 700 }, server.url);
  await page.click('[data-testid=start]');
  await waitForPhase(page, 'running');
  await waitForScreen(page, /\$$/);
  // Fill the screen so the last lines are at the bottom, where an overlay would sit.
  await runCommand(page, 'seq 60');
  await runCommand(page, 'echo the-last-words');
  await page.keyboard.type('exit');
  await page.keyboard.press('Enter');
  await waitForPhase(page, 'exited');
  await page.waitForSelector('[data-testid=banner]');
  await disjoint(page, '[data-testid=banner]');
  // After the refit, the last written line is among the rows on screen.
  await page.waitForFunction(
    () => {
      const t = window.__boxlab!.term;
      const b = t.buffer.active;
      let last = b.length - 1;
      while (last > 0 && !b.getLine(last)?.translateToString(true).trim()) last--;
      return last >= b.viewportY && last < b.viewportY + t.rows && /the-last-words|exit/.test(b.getLine(last)!.translateToString(true));
    },
    undefined,
    { timeout: 5000 },
  );
  await page.screenshot({ path: `${outDir}/small-exited-900x700.png` });
  await page.click('button:has-text("Start again")');
  await waitForPhase(page, 'running');
  await page.context().close();
});

test('the "Copied" notice shows in the stats bar, not over the terminal', async () => {
  const page = await openAt({ width: 390, height: 844 }, server.url);
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
  await page.click('[data-testid=start]');
  await waitForPhase(page, 'running');
  await runCommand(page, 'echo copy-me');
  await page.evaluate(() => window.__boxlab!.term.selectAll());
  await page.keyboard.press('Control+Shift+C');
  await page.waitForSelector('[data-testid=notice]');
  await disjoint(page, '[data-testid=notice]');
  await page.context().close();
});

test('Reset asks in the session bar (fits a phone); Escape keeps the box (keyboard back in the terminal), "Reset box" builds a new one', async () => {
  const page = await openAt({ width: 390, height: 844 }, server.url);
  await page.click('[data-testid=start]');
  await waitForPhase(page, 'running');
  await runCommand(page, 'echo still-here');
  const made = server.made();
  await page.click('[data-testid=reset]');
  await page.waitForSelector('[data-testid=reset-confirm]');
  assert.equal(
    await page.evaluate(() => document.activeElement?.getAttribute('data-testid')),
    'reset-cancel',
    'the safe choice has the focus',
  );
  const got = await overflow(page);
  assert.ok(got.scrollWidth <= got.clientWidth, 'the question fits');
  await disjoint(page, '[data-testid=reset-confirm]');
  await page.screenshot({ path: `${outDir}/small-reset-confirm-390x844.png` });
  await page.keyboard.press('Escape');
  await page.waitForSelector('[data-testid=reset]');
  // Keeping the box hands the keyboard back to the terminal: the learner types on.
  await page.waitForFunction(() => document.activeElement?.classList.contains('xterm-helper-textarea'), undefined, { timeout: 2000 });
  assert.equal(server.made(), made, 'no new box');
  await waitForScreen(page, /still-here/);
  await page.click('[data-testid=reset]');
  await page.click('[data-testid=reset-confirm-yes]');
  await waitForPhase(page, 'running');
  assert.equal(server.made(), made + 1, 'a new box');
  await page.context().close();
});
