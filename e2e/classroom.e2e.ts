// End-to-end (real engine, root): the instructor's dashboard lists learners, spectates one, broadcasts to another, ends the class.
// Run: NEXT_TELEMETRY_DISABLED=1 npx next build && node --import tsx --test e2e/classroom.e2e.ts
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../server/root/compose.ts';
import { launchBrowser, waitForPhase } from './browser.ts';
import { runCommand } from './terminal-actions.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = `${root}e2e/output`;
const dbDir = mkdtempSync(path.join(os.tmpdir(), 'boxlab-e2e-class-'));
const TOKEN = 'e2e-classroom-token-0123456789abcdef';
const results: Record<string, unknown> = {};
let server: RunningServer;
let browser: Browser;
let ada: Page;
let bea: Page;
let teacher: Page;

/** Text of a read-only watch terminal (spectate-term / follow-term). */
function watchText(page: Page, id: string): Promise<string> {
  return page.evaluate((k) => {
    const t = window.__boxlabWatch?.[k];
    if (!t) return '';
    const b = t.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < b.length; i++) lines.push((b.getLine(i)?.translateToString(true) ?? '').trimEnd());
    return lines.join('\n');
  }, id);
}
async function waitWatch(page: Page, id: string, re: RegExp, ms = 15_000): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (re.test(await watchText(page, id))) return Date.now() - t0;
    await page.waitForTimeout(50);
  }
  throw new Error(`${id} never showed ${re}; it shows:\n${(await watchText(page, id)).split('\n').slice(-8).join('\n')}`);
}

async function learnerPage(name: string, slug: string): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'dark' });
  await ctx.addInitScript((n) => localStorage.setItem('boxlab.learner.name', n), name);
  const p = await ctx.newPage();
  p.on('pageerror', (e) => console.log(`# ${name} page error: ${e.message}`));
  await p.goto(`${server.url}/lessons/${slug}`);
  await waitForPhase(p, 'running', 30_000);
  return p;
}

before(async () => {
  assert.ok(existsSync(`${root}out/classroom.html`), 'front end not built: run `NEXT_TELEMETRY_DISABLED=1 npx next build` first');
  mkdirSync(outDir, { recursive: true });
  const { startServer } = await import('../server/root/compose.ts');
  server = await startServer({
    config: { port: 0, host: '127.0.0.1', maxPerClient: 10 },
    course: { dbPath: path.join(dbDir, 'boxlab.db'), instructorToken: TOKEN },
    log: () => {},
  });
  browser = await launchBrowser();
  ada = await learnerPage('Ada', 'xray-tour');
  bea = await learnerPage('Bea', 'uts-namespace');
});

after(async () => {
  console.log(`# e2e classroom results: ${JSON.stringify(results)}`);
  await browser?.close();
  await server?.close();
  rmSync(dbDir, { recursive: true, force: true });
});

test('a learner cannot open the dashboard: the sign-in asks for the token, and their own token is refused', async () => {
  await bea.goto(`${server.url}/classroom`);
  await bea.waitForSelector('[data-testid=sign-in]');
  const token = await bea.evaluate(() => JSON.parse(sessionStorage.getItem('boxlab.session.v1') ?? '{}').token as string);
  await bea.fill('[data-testid=token]', token);
  await bea.click('[data-testid=sign-in] button[type=submit]');
  await bea.waitForSelector('[data-testid=sign-in] [role=alert]');
  const status = await bea.evaluate(
    async (t) => (await fetch('/api/classroom', { headers: { Authorization: `Bearer ${t}` } })).status,
    token,
  );
  assert.equal(status, 403);
  await bea.goto(`${server.url}/lessons/uts-namespace`);
  await waitForPhase(bea, 'running', 30_000);
});

test('the dashboard lists every learner with name, lesson, step and sandbox health', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1600, height: 950 }, colorScheme: 'dark' });
  teacher = await ctx.newPage();
  teacher.on('pageerror', (e) => console.log(`# teacher page error: ${e.message}`));
  await teacher.goto(`${server.url}/classroom#token=${TOKEN}`);
  await teacher.waitForSelector('[data-testid=session-row][data-name=Ada]');
  await teacher.waitForSelector('[data-testid=session-row][data-name=Bea]');
  assert.ok(!teacher.url().includes(TOKEN), 'the token leaves the address bar');
  const adaRow = teacher.locator('[data-testid=session-row][data-name=Ada]');
  await teacher.waitForFunction(() => /cpu \d/.test(document.querySelector('[data-testid=session-row][data-name=Ada]')?.textContent ?? ''));
  assert.match((await adaRow.locator('[data-testid=row-lesson]').textContent()) ?? '', /A tour of the x-ray.*step 1\/3/);
  assert.match(
    (await teacher.locator('[data-testid=session-row][data-name=Bea] [data-testid=row-lesson]').textContent()) ?? '',
    /The UTS namespace/,
  );
  assert.match((await adaRow.textContent()) ?? '', /MiB/);
  await waitForPhase(teacher, 'running', 30_000); // the instructor's own terminal
  await teacher.screenshot({ path: `${outDir}/classroom-dashboard.png` });
});

test("spectate: the instructor sees Ada's terminal live, read-only", async () => {
  await ada.click('[data-testid=terminal]');
  await runCommand(ada, 'echo before-watch-$((40+2))');
  await teacher.click('[data-testid=session-row][data-name=Ada] [data-testid=spectate]');
  await teacher.waitForSelector('[data-testid=spectate-panel]');
  await waitWatch(teacher, 'spectate-term', /before-watch-42/);
  const t0 = Date.now();
  await ada.keyboard.type('echo live-from-ada-$((6*7))');
  await ada.keyboard.press('Enter');
  await waitWatch(teacher, 'spectate-term', /live-from-ada-42/);
  results.spectateLatencyMs = Date.now() - t0;
  // A viewer's keys go nowhere: the learner's screen never shows them.
  await teacher.click('[data-testid=spectate-term]');
  await teacher.keyboard.type('echo typed-by-viewer');
  await teacher.keyboard.press('Enter');
  await ada.waitForTimeout(500);
  const adaScreen = await ada.evaluate(() => {
    const b = window.__boxlab!.term.buffer.active;
    let s = '';
    for (let i = 0; i < b.length; i++) s += `${b.getLine(i)?.translateToString(true)}\n`;
    return s;
  });
  assert.doesNotMatch(adaScreen, /typed-by-viewer/);
  await teacher.screenshot({ path: `${outDir}/classroom-spectate.png` });
});

test("broadcast: the instructor's command output reaches a following learner", async () => {
  await teacher.click('[role=tab]:has-text("My terminal")');
  await teacher.click('[data-testid=broadcast]');
  await bea.waitForSelector('[data-testid=broadcast-banner]', { timeout: 10_000 });
  await bea.click('[data-testid=follow]');
  await bea.waitForSelector('[data-testid=follow-panel]');
  await bea.waitForFunction(() =>
    /Following Instructor/.test(document.querySelector('[data-testid=follow-term-status]')?.textContent ?? ''),
  );
  await teacher.click('[data-testid=console] [data-testid=terminal]');
  const t0 = Date.now();
  await teacher.keyboard.type('echo demo-$((6*7)) && hostname');
  await teacher.keyboard.press('Enter');
  await waitWatch(bea, 'follow-term', /demo-42/);
  results.broadcastLatencyMs = Date.now() - t0;
  const beaOwn = await bea.evaluate(() => {
    const b = window.__boxlab!.term.buffer.active;
    let s = '';
    for (let i = 0; i < b.length; i++) s += `${b.getLine(i)?.translateToString(true)}\n`;
    return s;
  });
  assert.doesNotMatch(beaOwn, /demo-42/, "Bea's own sandbox is untouched");
  // The instructor's x-ray goes along: the view they open is the one followers receive.
  await bea.click('[data-testid=follow-panel] [data-testid=xray-tab-procs]');
  await teacher.click('[data-testid=console] [data-testid=xray-tab-procs]');
  await teacher.click('[data-testid=console] [data-testid=terminal]');
  await teacher.keyboard.type('sleep 4242 &');
  await teacher.keyboard.press('Enter');
  await bea.waitForFunction(
    () => /sleep 4242/.test(document.querySelector('[data-testid=follow-panel] [data-testid=xray]')?.textContent ?? ''),
    null,
    { timeout: 10_000 },
  );
  // The classic demo (the instructor's box is a lab box): a PID namespace of their own while broadcasting. The
  // follower's x-ray shows the nested shell with both pid levels (box → nested 1) before `ps` is typed into it.
  await teacher.keyboard.type('unshare --pid --fork --mount-proc sh');
  await teacher.keyboard.press('Enter');
  await bea.waitForFunction(
    () => /\d+→1 · host/.test(document.querySelector('[data-testid=follow-panel] [data-testid=xray]')?.textContent ?? ''),
    null,
    { timeout: 15_000 },
  );
  await teacher.keyboard.type('ps; echo "nested=$$"');
  await teacher.keyboard.press('Enter');
  await waitWatch(bea, 'follow-term', /nested=1/);
  const demo = await watchText(bea, 'follow-term');
  const psRows = demo
    .slice(demo.lastIndexOf('ps; echo'))
    .split('\n')
    .filter((l) => /^\s*\d+\s+root\s/.test(l));
  assert.deepEqual(
    psRows.map((l) => Number(l.trim().split(/\s+/)[0])),
    [1, 2],
    `the follower sees ps list only the nested shell and ps: ${psRows.join(' | ')}`,
  );
  // The Fork tab draws the instructor's own runtime beside the engine's: unshare as namespaced parent, sh as inner child.
  await teacher.click('[data-testid=console] [data-testid=xray-tab-fork]');
  await bea.click('[data-testid=follow-panel] [data-testid=xray-tab-fork]');
  await bea.waitForSelector('[data-testid=follow-panel] [data-testid=learner-fork-inner-child]', { timeout: 15_000 });
  assert.match(
    (await bea.textContent('[data-testid=follow-panel] [data-testid=learner-fork]')) ?? '',
    /unshare.*your namespaced parent.*sh.*NSpid \d+ → 1/s,
  );
  await bea.screenshot({ path: `${outDir}/classroom-demo-unshare-follower.png` });
  await teacher.click('[data-testid=console] [data-testid=terminal]');
  await teacher.keyboard.type('exit');
  await teacher.keyboard.press('Enter');
  await bea.screenshot({ path: `${outDir}/classroom-broadcast-learner.png` });
  await teacher.screenshot({ path: `${outDir}/classroom-broadcasting.png` });
});

test('move everyone to a lesson, then end the class: learners are told and every sandbox is torn down', async () => {
  await teacher.selectOption('[data-testid=goto-lesson]', 'overlayfs');
  await teacher.click('[data-testid=goto]');
  await ada.waitForURL(/\/lessons\/overlayfs$/, { timeout: 10_000 });
  await waitForPhase(ada, 'running', 30_000);
  teacher.once('dialog', (d) => void d.accept());
  await teacher.click('[data-testid=end-class]');
  await ada.waitForSelector('[data-testid=class-ended]', { timeout: 10_000 });
  await ada.screenshot({ path: `${outDir}/classroom-ended-learner.png` });
  const deadline = Date.now() + 10_000;
  while (server.manager.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.equal(server.manager.size, 0, 'no session left');
  assert.ok(server.manager.sessions().every((s) => !s.session.sandbox));
});
