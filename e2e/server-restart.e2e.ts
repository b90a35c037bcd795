// e2e: a page open while its server restarts says plainly that the box is gone and offers a new one, both after a
// clean shutdown (close 4503) and after a kill -9 (no close at all), instead of retrying with stale stats.
// Real web server over the FakeSandbox shell, restarted on the same free port; run after the Next build.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { GONE } from '../components/terminal/client-types.ts';
import { launchBrowser, waitForPhase, waitForScreen } from './browser.ts';
import { startMockServer } from './mock-server.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = `${root}e2e/output`;

/** A port free right now (the restarted server must come back on the same one, as a real restart does). */
async function freePort(): Promise<number> {
  const srv = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => srv.once('listening', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}
let browser: Browser;
const children = new Set<ChildProcess>();

before(async () => {
  assert.ok(existsSync(`${root}out/index.html`), 'front end not built: run `NEXT_TELEMETRY_DISABLED=1 npx next build` first');
  mkdirSync(outDir, { recursive: true });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  for (const c of children) c.kill('SIGKILL');
});

async function runningPage(url: string): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'dark' });
  const page = await ctx.newPage();
  await page.goto(url);
  await page.waitForFunction(() => window.__boxlab !== undefined);
  await page.click('[data-testid=start]');
  await waitForPhase(page, 'running');
  await waitForScreen(page, /\$$/);
  return page;
}

const message = (page: Page) => page.evaluate(() => window.__boxlab!.client.getView().message);
const sessionId = (page: Page) => page.evaluate(() => window.__boxlab!.client.getView().sessionId);

/** The overlay says `text` and a Start button takes the learner to a fresh box in a new session. */
async function goneThenStart(page: Page, text: string, shot: string): Promise<void> {
  await page.waitForFunction((t) => document.querySelector('[data-testid=overlay]')?.textContent?.includes(t), text, { timeout: 20_000 });
  assert.equal(await page.locator('[data-testid=banner]').count(), 0, 'no "Reconnecting…" banner');
  assert.match((await page.textContent('[data-testid=stats]')) ?? '', /No live stats/);
  await page.screenshot({ path: `${outDir}/${shot}.png` });
  const old = await sessionId(page);
  await page.click('[data-testid=overlay] button:has-text("Start")');
  await waitForPhase(page, 'running');
  assert.notEqual(await sessionId(page), old);
}

test('clean restart (close 4503): "shut down; your box is gone", then "The server restarted; your box is gone"', async () => {
  let server = await startMockServer({ port: 0 });
  const port = server.port;
  const page = await runningPage(server.url);
  await server.close();
  await waitForPhase(page, 'ended');
  assert.equal(await message(page), GONE.shutdown);
  server = await startMockServer({ port });
  try {
    await goneThenStart(page, GONE.restarted, 'restart-4503');
  } finally {
    await page.context().close();
    await server.close();
  }
});

function spawnMock(port: number): Promise<ChildProcess> {
  // BOXLAB_HOME: a progress database of its own, never the machine's.
  const env = { ...process.env, BOXLAB_HOME: path.join(os.tmpdir(), 'boxlab-e2e-restart') };
  const child = spawn(process.execPath, ['--import', 'tsx', 'e2e/mock-server.ts', String(port)], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (b: Buffer) => b.toString().includes('mock boxlab on') && resolve(child));
    child.on('exit', (code) => reject(new Error(`mock server exited ${code}`)));
  });
}

test('kill -9 and restart: "Reconnecting" while down, then "The server restarted; your box is gone"', async () => {
  const port = await freePort();
  let child = await spawnMock(port);
  const page = await runningPage(`http://127.0.0.1:${port}`);
  child.kill('SIGKILL');
  await waitForPhase(page, 'reconnecting');
  await page.waitForSelector('[data-testid=banner]:has-text("Connection lost")');
  assert.match((await page.textContent('[data-testid=stats]')) ?? '', /No live stats while reconnecting/);
  child = await spawnMock(port);
  try {
    await goneThenStart(page, GONE.restarted, 'restart-kill9');
  } finally {
    await page.context().close();
    child.kill('SIGTERM');
  }
});
