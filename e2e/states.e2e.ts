// e2e of the UI states that are hard to cause with a real kernel on demand: full, a failing stage, dropped and stolen
// sockets, plus the context menu, clipboard and search. Runs the real web server over the FakeSandbox shell.
// Run: node --import tsx --test e2e/states.e2e.ts (after the Next build).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, screenText, waitForPhase, waitForScreen } from './browser.ts';
import { startMockServer } from './mock-server.ts';
import { runCommand } from './terminal-actions.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = `${root}e2e/output`;
let browser: Browser;
const servers: { close(): Promise<void> }[] = [];

before(async () => {
  assert.ok(existsSync(`${root}out/index.html`), 'front end not built: run `NEXT_TELEMETRY_DISABLED=1 npx next build` first');
  mkdirSync(outDir, { recursive: true });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  for (const s of servers) await s.close();
});

async function open(url: string, ctx?: BrowserContext): Promise<Page> {
  const c = ctx ?? (await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'dark' }));
  const page = await c.newPage();
  await page.goto(url);
  await page.waitForFunction(() => window.__boxlab !== undefined);
  return page;
}

async function started(url: string): Promise<Page> {
  const page = await open(url);
  await page.click('[data-testid=start]');
  await waitForPhase(page, 'running');
  await waitForScreen(page, /\$$/);
  return page;
}

test('a full server shows a countdown from retryAfterSec', async () => {
  const server = await startMockServer({ maxSessions: 1 });
  servers.push(server);
  const taken = await fetch(`${server.url}/api/session`, { method: 'POST' });
  assert.equal(taken.status, 201);
  const page = await open(server.url);
  await page.click('[data-testid=start]');
  await waitForPhase(page, 'full');
  await page
    .waitForFunction(() => /full · retry in \d+s/.test(document.querySelector('[data-testid=status]')?.textContent ?? ''), undefined, {
      timeout: 5000,
    })
    .catch(() => {});
  const pill = await page.textContent('[data-testid=status]');
  assert.match(pill ?? '', /full · retry in \d+s/);
  await page.screenshot({ path: `${outDir}/10-full.png` });
  await page.context().close();
});

test('a failing stage is shown with its error, and the session reports the error', async () => {
  const server = await startMockServer({ failAt: 'pivot_root' });
  servers.push(server);
  const page = await open(server.url);
  await page.click('[data-testid=start]');
  await waitForPhase(page, 'error');
  const row = page.locator('[data-stage=pivot_root][data-ok=false]');
  await row.waitFor();
  assert.match((await row.textContent()) ?? '', /EPERM/);
  assert.equal(await page.locator('[data-stage=chdir]').count(), 0, 'nothing after the failed stage');
  await page.screenshot({ path: `${outDir}/11-stage-error.png` });
  // "Try again" restarts the same session (no new POST): one more sandbox, the same session id.
  const id = await page.evaluate(() => window.__boxlab!.client.getView().sessionId);
  const made = server.made();
  await page.click('button:has-text("Try again")');
  await page.waitForFunction(() => window.__boxlab!.client.getView().phase !== 'error');
  await waitForPhase(page, 'error');
  assert.equal(server.made(), made + 1);
  assert.equal(server.manager.size, 1);
  assert.equal(await page.evaluate(() => window.__boxlab!.client.getView().sessionId), id);
  await page.context().close();
});

test('context menu, clipboard and search', async () => {
  const server = await startMockServer({});
  servers.push(server);
  const page = await started(server.url);
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
  await runCommand(page, 'echo hello clipboard');
  await page.click('[data-testid=terminal]', { button: 'right', position: { x: 300, y: 200 } });
  await page.waitForSelector('[role=menu]');
  await page.screenshot({ path: `${outDir}/12-context-menu.png` });
  await page.click('[role=menuitem]:has-text("Select all")');
  assert.equal(await page.evaluate(() => window.__boxlab!.term.hasSelection()), true);
  await page.keyboard.press('Control+Shift+C');
  await page.waitForFunction(async () => (await navigator.clipboard.readText()).includes('hello clipboard'));

  await page.evaluate(() => navigator.clipboard.writeText('echo pasted-ok'));
  await page.click('[data-testid=terminal]', { button: 'right', position: { x: 300, y: 200 } });
  await page.click('[role=menuitem]:has-text("Paste")');
  await waitForScreen(page, /\$ echo pasted-ok$/);
  await page.keyboard.press('Enter');
  await waitForScreen(page, /\npasted-ok\n\$$/);

  await page.keyboard.press('Control+Shift+F');
  const box = page.getByLabel('Find in terminal');
  await box.waitFor();
  await box.fill('pasted');
  await page.waitForFunction(() => /\d+\/\d+/.test(document.querySelector('[role=search]')?.textContent ?? ''));
  await page.screenshot({ path: `${outDir}/13-search.png` });
  await box.press('Escape');
  assert.equal(await page.locator('[role=search]').count(), 0);
  assert.equal(await page.evaluate(() => document.activeElement?.classList.contains('xterm-helper-textarea')), true);
  await page.context().close();
});

test('a dropped socket reconnects and restores the screen without duplicates', async () => {
  const server = await startMockServer({});
  servers.push(server);
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'dark' });
  // Keep a handle on the page's sockets so the test can cut one like a flaky network would.
  await ctx.addInitScript(() => {
    const Native = window.WebSocket;
    const all: WebSocket[] = ((window as unknown as { __sockets: WebSocket[] }).__sockets = []);
    window.WebSocket = class extends Native {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols);
        all.push(this);
      }
    } as typeof WebSocket;
  });
  const page = await open(server.url, ctx);
  await page.click('[data-testid=start]');
  await waitForPhase(page, 'running');
  await runCommand(page, 'echo before-drop');
  await page.evaluate(() => (window as unknown as { __sockets: WebSocket[] }).__sockets.at(-1)!.close(4000, 'test drop'));
  await waitForPhase(page, 'reconnecting');
  await page.screenshot({ path: `${outDir}/14-reconnecting.png` });
  await waitForPhase(page, 'running');
  await runCommand(page, 'echo after-drop');
  const text = await screenText(page);
  assert.equal(text.match(/^before-drop$/gm)?.length, 1, 'history restored once, not duplicated');

  // A second tab with the same session takes it over; the first one says so and can take it back.
  const stored = await page.evaluate(() => JSON.stringify(sessionStorage));
  const ctx2 = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'dark' });
  await ctx2.addInitScript((s) => {
    for (const [k, v] of Object.entries(JSON.parse(s) as Record<string, string>)) sessionStorage.setItem(k, v);
  }, stored);
  const page2 = await open(server.url, ctx2);
  await waitForPhase(page2, 'running');
  await waitForScreen(page2, /after-drop/);
  await waitForPhase(page, 'replaced');
  await page.screenshot({ path: `${outDir}/15-replaced.png` });
  await page.click('button:has-text("Use it here")');
  await waitForPhase(page, 'running');
  await waitForPhase(page2, 'replaced');
  await ctx.close();
  await ctx2.close();
});
