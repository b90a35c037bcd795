// End-to-end (real engine, root): a learner completes the first two lessons by clicking commands, steps turn green, progress survives a reload.
// Run: NEXT_TELEMETRY_DISABLED=1 npx next build && node --import tsx --test e2e/lessons.e2e.ts
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../server/root/compose.ts';
import { launchBrowser, waitForPhase } from './browser.ts';

/** The built-in course: one lesson per Markdown file of lessons/ (the list must show each, whatever their number). */
const COURSE = readdirSync(fileURLToPath(new URL('../lessons/', import.meta.url))).filter((f) => f.endsWith('.md')).length;

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = `${root}e2e/output`;
const dbDir = mkdtempSync(path.join(os.tmpdir(), 'boxlab-e2e-lessons-'));
const results: Record<string, unknown> = {};
let server: RunningServer;
let browser: Browser;
let page: Page;

const shot = (name: string) => page.screenshot({ path: `${outDir}/lessons-${name}.png` });

before(async () => {
  assert.ok(existsSync(`${root}out/lessons/xray-tour.html`), 'front end not built: run `NEXT_TELEMETRY_DISABLED=1 npx next build` first');
  mkdirSync(outDir, { recursive: true });
  const { startServer } = await import('../server/root/compose.ts');
  server = await startServer({
    config: { port: 0, host: '127.0.0.1', maxPerClient: 10 },
    course: { dbPath: path.join(dbDir, 'boxlab.db'), instructorToken: 'e2e-instructor-token-0123456789' },
    log: () => {},
  });
  browser = await launchBrowser();
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'dark' });
  page = await ctx.newPage();
  page.on('pageerror', (e) => console.log(`# page error: ${e.message}`));
});

after(async () => {
  console.log(`# e2e lessons results: ${JSON.stringify(results)}`);
  await browser?.close();
  await server?.close();
  rmSync(dbDir, { recursive: true, force: true });
});

const stepState = (i: number) => page.getAttribute(`[data-testid=step-${i}]`, 'data-state');

/** Clicks every command of the current step, then waits for the server's check to turn it green. */
async function doStep(i: number): Promise<number> {
  const step = page.locator(`[data-testid=step-${i}]`);
  assert.equal(await step.getAttribute('data-state'), 'current', `step ${i + 1} is the current one`);
  // Before acting, the check says what is missing (it failed on the server).
  await page.waitForFunction(
    (n) => /✗/.test(document.querySelector(`[data-testid=step-${n}] [data-testid=check-message]`)?.textContent ?? ''),
    i,
    { timeout: 15_000 },
  );
  const cmds = step.locator('[data-testid=cmd]');
  const n = await cmds.count();
  assert.ok(n > 0, `step ${i + 1} has commands to click`);
  const t0 = Date.now();
  for (let k = 0; k < n; k++) {
    await cmds.nth(k).click();
    await page.waitForTimeout(250);
  }
  await page.waitForFunction((s) => document.querySelector(`[data-testid=step-${s}]`)?.getAttribute('data-state') === 'passed', i, {
    timeout: 30_000,
  });
  return Date.now() - t0;
}

async function completeLesson(slug: string, steps: number): Promise<number[]> {
  await page.waitForSelector(`[data-testid=step-0]`);
  await waitForPhase(page, 'running', 30_000);
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    times.push(await doStep(i));
    await shot(`${slug}-step${i + 1}-green`);
    if (i < steps - 1) await page.click(`[data-testid=step-${i}] [data-testid=next]`);
  }
  await page.waitForSelector('[data-testid=lesson-complete]');
  return times;
}

test('the lesson list shows every lesson, nothing done yet, and takes a name', async () => {
  await page.goto(`${server.url}/lessons`);
  await page.waitForSelector('[data-testid=lesson-xray-tour]');
  assert.equal(await page.locator('[data-testid=lesson-list] > li').count(), COURSE);
  assert.match((await page.textContent('[data-testid=done-count]')) ?? '', new RegExp(`^0 of ${COURSE} done`));
  await page.fill('[data-testid=learner-name]', 'Ada');
  await shot('list-before');
});

test('lesson 1 (x-ray tour): every step turns green after clicking its commands', async () => {
  await page.click('[data-testid=lesson-xray-tour] a');
  await page.waitForURL(/\/lessons\/xray-tour$/);
  assert.match((await page.textContent('[data-testid=host-cgroup]')) ?? '', /cgroup v1|cgroup v2/);
  const cg = server.manager.cgroupVersion;
  assert.equal((await page.locator(`[data-testid=cgroup-v${cg}]`).count()) > 0, true, "the text for this host's cgroup version is shown");
  assert.equal(await page.locator(`[data-testid=cgroup-v${cg === 1 ? 2 : 1}]`).count(), 0, 'and not the other one');
  results.xrayTourMs = await completeLesson('xray-tour', 3);
});

test('lesson 2 (PID namespace): reached from "next lesson", all four steps green', async () => {
  await page.click('[data-testid=next-lesson]');
  await page.waitForURL(/\/lessons\/pid-namespace$/);
  results.pidNamespaceMs = await completeLesson('pid-namespace', 4);
  // The check tells both pids of the process (a kernel fact the learner cannot see from inside).
  await page.click('[data-testid=step-0] > button');
  assert.match((await page.textContent('[data-testid=step-0] [data-testid=check-message]')) ?? '', /✓|Passed/);
});

test('after a reload the progress is still there (kept on the server), in the lesson and in the list', async () => {
  await page.reload();
  await page.waitForSelector('[data-testid=step-3]');
  for (let i = 0; i < 4; i++) assert.equal(await stepState(i), 'passed', `pid-namespace step ${i + 1} still passed`);
  await page.waitForSelector('[data-testid=lesson-complete]');
  await shot('pid-namespace-after-reload');
  await page.goto(`${server.url}/lessons`);
  await page.waitForSelector('[data-testid=lesson-xray-tour][data-done=true]');
  assert.equal(await page.getAttribute('[data-testid=lesson-pid-namespace]', 'data-done'), 'true');
  assert.equal(await page.getAttribute('[data-testid=lesson-uts-namespace]', 'data-done'), 'false');
  assert.match((await page.textContent('[data-testid=done-count]')) ?? '', new RegExp(`^2 of ${COURSE} done`));
  await shot('list-after');
  const cost = await (
    await fetch(`${server.url}/api/classroom`, { headers: { Authorization: 'Bearer e2e-instructor-token-0123456789' } })
  ).json();
  results.checkCost = cost.checkCost;
  const me = cost.sessions.find((s: { name: string }) => s.name === 'Ada');
  assert.ok(me, 'the dashboard knows the learner by the name they chose');
  assert.equal(me.lessonsDone, 2);
});

test('an x-ray link (/lessons#<slug>) opens that lesson', async () => {
  await page.goto(`${server.url}/lessons#overlayfs`);
  await page.waitForURL(/\/lessons\/overlayfs$/);
  await page.waitForSelector('[data-testid=step-0]');
});

test('the OOM lesson: the sandbox is rebuilt with 64 MiB, the fill and the OOM kill turn the steps green', async () => {
  await page.goto(`${server.url}/lessons/cgroup-memory`);
  await page.waitForSelector('[data-testid=step-0]');
  // The server rebuilds the box with the lesson's limit; the chip shows what the cgroup holds.
  await page.waitForFunction(() => /64 MiB/.test(document.querySelector('[data-testid=limits]')?.textContent ?? ''), null, {
    timeout: 30_000,
  });
  await waitForPhase(page, 'running', 30_000);
  await page.click('[data-testid=xray-tab-cgroup]');
  const times = [await doStep(0)];
  await page.click('[data-testid=step-0] [data-testid=next]');
  times.push(await doStep(1));
  results.cgroupMemoryMs = times;
  await page.waitForSelector('[data-testid=lesson-complete]');
  await shot('cgroup-memory-oom');
});
