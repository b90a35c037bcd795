// End-to-end (real engine, root): a lesson pack served with --lessons: listed in its own section, its lesson page (not
// prerendered) shows the table, the pack's image and lesson links, and a learner completes it by clicking commands.
// Run: NEXT_TELEMETRY_DISABLED=1 npx next build && node --import tsx --test e2e/packs.e2e.ts
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
const dbDir = mkdtempSync(path.join(os.tmpdir(), 'boxlab-e2e-packs-'));
let server: RunningServer;
let browser: Browser;
let page: Page;
const shot = (name: string) => page.screenshot({ path: `${outDir}/packs-${name}.png` });

before(async () => {
  assert.ok(existsSync(`${root}out/lesson.html`), 'front end not built: run `NEXT_TELEMETRY_DISABLED=1 npx next build` first');
  mkdirSync(outDir, { recursive: true });
  const { startServer } = await import('../server/root/compose.ts');
  server = await startServer({
    config: { port: 0, host: '127.0.0.1', maxPerClient: 10, lessonDirs: [path.join(root, 'examples/lesson-pack')] },
    course: { dbPath: path.join(dbDir, 'boxlab.db'), instructorToken: 'e2e-instructor-token-0123456789' },
    log: () => {},
  });
  browser = await launchBrowser();
  page = await (await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'dark' })).newPage();
  page.on('pageerror', (e) => console.log(`# page error: ${e.message}`));
});

after(async () => {
  await browser?.close();
  await server?.close();
  rmSync(dbDir, { recursive: true, force: true });
});

test('the pack has its own section after the built-in course', async () => {
  await page.goto(`${server.url}/lessons`);
  await page.waitForSelector('[data-testid=lesson-first-steps]');
  assert.equal(await page.locator('[data-testid=lesson-list] > li').count(), COURSE, 'the built-in course is unchanged');
  assert.equal(await page.locator('[data-testid=lesson-list-lesson-pack] > li').count(), 2);
  assert.match((await page.textContent('[data-testid=pack-lesson-pack] h2')) ?? '', /Example pack: your own path/);
});

test('a pack lesson: table, image of the pack, lesson links; both steps turn green by clicking', async () => {
  await page.click('[data-testid=lesson-first-steps] a');
  await page.waitForURL(/\/lessons\/first-steps$/);
  await page.waitForSelector('[data-testid=step-0]');
  assert.equal(await page.locator('table tbody tr').count(), 2);
  await page.waitForFunction(() =>
    [...document.images].some((i) => i.src.endsWith('/files/images/layers.svg') && i.complete && i.naturalWidth > 0),
  );
  assert.equal(await page.getAttribute('[data-testid=lesson-link] >> nth=0', 'href'), '/lessons/second-look');
  await waitForPhase(page, 'running', 30_000);
  for (let i = 0; i < 2; i++) {
    const step = page.locator(`[data-testid=step-${i}]`);
    await page.waitForFunction(
      (n) => /✗/.test(document.querySelector(`[data-testid=step-${n}] [data-testid=check-message]`)?.textContent ?? ''),
      i,
      { timeout: 30_000 },
    );
    await step.locator('[data-testid=cmd]').first().click();
    await page.waitForFunction((n) => document.querySelector(`[data-testid=step-${n}]`)?.getAttribute('data-state') === 'passed', i, {
      timeout: 30_000,
    });
    await shot(`first-steps-step${i + 1}-green`);
    if (i === 0) await page.click('[data-testid=step-0] [data-testid=next]');
  }
  await page.waitForSelector('[data-testid=lesson-complete]');
});
