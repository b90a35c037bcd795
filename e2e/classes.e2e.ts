// End-to-end (real engine, root): the instructor creates a class in the dashboard and projects its code; a learner joins
// from another browser by the code with a name and lands in the lesson's box; the dashboard shows the name; the playground
// from the same address, over its per-address cap, says so in its own words.
// Run: npx next build --webpack && node --import tsx --test e2e/classes.e2e.ts
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../server/web/server.ts';
import { launchBrowser, waitForPhase } from './browser.ts';
import { runCommand } from './terminal-actions.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = `${root}e2e/output`;
const dbDir = mkdtempSync(path.join(os.tmpdir(), 'boxlab-e2e-classes-'));
const TOKEN = 'e2e-classes-token-0123456789abcdef';
let server: RunningServer;
let browser: Browser;

async function page(name: string): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'dark' });
  const p = await ctx.newPage();
  p.on('pageerror', (e) => console.log(`# ${name} page error: ${e.message}`));
  return p;
}

before(async () => {
  assert.ok(existsSync(`${root}out/join.html`), 'front end not built: run `npx next build --webpack` first');
  mkdirSync(outDir, { recursive: true });
  const { startServer } = await import('../server/web/server.ts');
  // One playground box per address: the instructor's own terminal takes it; class members are not counted per address.
  server = await startServer({
    config: { port: 0, host: '127.0.0.1', maxPerClient: 1 },
    course: { dbPath: path.join(dbDir, 'boxlab.db'), instructorToken: TOKEN },
    log: () => {},
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
  rmSync(dbDir, { recursive: true, force: true });
});

test('create a class in the dashboard, join it by code with a name, see the name on the dashboard', async () => {
  const teacher = await page('teacher');
  await teacher.goto(`${server.url}/classroom#token=${TOKEN}`);
  await teacher.click('[data-testid=new-class]');
  await teacher.fill('[data-testid=class-name]', 'E2E class');
  await teacher.check('[data-testid=class-lesson-xray-tour]');
  await teacher.fill('[data-testid=class-memory]', '128M');
  await teacher.click('[data-testid=create-class-submit]');
  await teacher.waitForSelector('[data-testid=projector-view]');
  const code = ((await teacher.textContent('[data-testid=projector-code]')) ?? '').trim();
  assert.match(code, /^[A-HJKMNP-Z2-9]{6}$/);
  assert.equal(await teacher.locator('img[data-testid=qr]').evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth > 0), true, 'a QR code is shown');
  const qrBox = await teacher.locator('[data-testid=qr]').boundingBox();
  assert.ok(qrBox && qrBox.height >= 300, `QR code ${qrBox?.height}px high on an 800px screen`);
  await teacher.screenshot({ path: `${outDir}/class-projector.png` });
  await teacher.keyboard.press('Escape');

  // A learner, another browser: types the code (lower case, with a space) and a name.
  const zoe = await page('zoe');
  await zoe.goto(`${server.url}/join`);
  await zoe.fill('[data-testid=join-code]', `${code.slice(0, 3).toLowerCase()} ${code.slice(3).toLowerCase()}`);
  await zoe.fill('[data-testid=join-name]', 'Zoë Learner');
  await zoe.click('[data-testid=join-submit]');
  await zoe.waitForSelector('[data-testid=resume-code]');
  const resume = ((await zoe.textContent('[data-testid=resume-code]')) ?? '').trim();
  assert.match(resume, /^[A-HJKMNP-Z2-9]{5}-[A-HJKMNP-Z2-9]{5}$/);
  await zoe.click('[data-testid=start-lesson]');
  await zoe.waitForURL(/\/lessons\/xray-tour/);
  await waitForPhase(zoe, 'running', 30_000);
  const made = await zoe.evaluate(() => window.__boxlab?.client.getView().limits?.memory);
  assert.ok(made, 'the lesson page runs the box made at join');

  // She does the lesson's first step (the real check on her real box).
  await runCommand(zoe, 'echo hello > /root/hello.txt');
  await zoe.waitForFunction(() => document.querySelector('[data-testid=step-0]')?.getAttribute('data-state') === 'passed', undefined, { timeout: 30_000 });

  // The dashboard: the roster and the live sessions table show her name, not "learner 611b".
  await teacher.waitForSelector('[data-testid=roster-name]:has-text("Zoë Learner")', { timeout: 20_000 });
  const sid = await zoe.evaluate(() => window.__boxlab?.client.getView().sessionId ?? '');
  await teacher.waitForSelector(`[data-testid=session-row][data-session="${sid}"][data-name="Zoë Learner"]`, { timeout: 20_000 });
  assert.doesNotMatch((await teacher.textContent('[data-testid=sessions]')) ?? '', /learner [0-9a-f]{4}\b/);
  // Live: the roster shows her passed step and the sessions table her lesson, within a few polls.
  const t0 = Date.now();
  await teacher.waitForSelector('[data-testid=roster-row]:has-text("Zoë Learner") [data-testid=roster-step][data-state=passed]', { timeout: 20_000 });
  await teacher.waitForSelector(`[data-testid=session-row][data-session="${sid}"] [data-testid=row-lesson]:has-text("x-ray")`, { timeout: 20_000 });
  console.log(`# dashboard showed the passed step ${Date.now() - t0} ms after the learner's page did`);
  await teacher.screenshot({ path: `${outDir}/class-dashboard.png` });

  // The playground from this same address: over the per-address cap, and the page says which limit.
  const anon = await page('anon');
  await anon.goto(server.url);
  await anon.click('[data-testid=start]');
  await anon.waitForSelector('[data-testid=refusal][data-reason=client_full]', { timeout: 20_000 });
  const words = (await anon.textContent('[data-testid=overlay]')) ?? '';
  assert.match(words, /Too many sandboxes from this network/);
  assert.match(words, /already has 1 playground sandbox,/);
  assert.doesNotMatch(words, /Every sandbox is in use/);

  // She comes back in a new browser with her resume code alone: the same learner (one roster row), a box again.
  await zoe.context().close();
  const back = await page('zoe-again');
  await back.goto(`${server.url}/join`);
  await back.click('text=I was here before');
  await back.fill('[data-testid=join-resume]', resume.toLowerCase());
  await back.click('[data-testid=join-submit]');
  await back.waitForURL(/\/lessons\/xray-tour/);
  await waitForPhase(back, 'running', 30_000);
  await back.waitForFunction(() => document.querySelector('[data-testid=step-0]')?.getAttribute('data-state') === 'passed', undefined, { timeout: 15_000 });
  await teacher.waitForFunction(() => document.querySelectorAll('[data-testid=roster-name]').length === 1
    && document.querySelector('[data-testid=roster-name]')?.textContent === 'Zoë Learner', undefined, { timeout: 20_000 });
  const newSid = await back.evaluate(() => window.__boxlab?.client.getView().sessionId ?? '');
  assert.notEqual(newSid, sid);
  await teacher.waitForSelector(`[data-testid=session-row][data-session="${newSid}"][data-name="Zoë Learner"]`, { timeout: 20_000 });

  // Export: the CSV downloads with her row; End class: her box closes, the class is archived and still exportable.
  const [download] = await Promise.all([teacher.waitForEvent('download'), teacher.click('[data-testid=export-csv]')]);
  const csv = readFileSync((await download.path())!, 'utf8');
  assert.match(download.suggestedFilename(), new RegExp(`^E2E-class-${code}\\.csv$`));
  assert.match(csv, /^class,class_code,learner,/);
  assert.match(csv, /E2E class,\w{6},Zoë Learner,[^\r]*,xray-tour,[^\r]*,1,[^\r]*,passed,/);
  // The cap can be raised while the class is open.
  teacher.once('dialog', (d) => void d.accept('45'));
  await teacher.click('[data-testid=raise-cap]');
  await teacher.waitForSelector('[data-testid=class-detail] :text("1/45 learners")', { timeout: 20_000 });
  teacher.once('dialog', (d) => void d.accept());
  await teacher.click('[data-testid=end-this-class]');
  await back.waitForFunction(() => window.__boxlab?.client.getView().phase === 'ended', undefined, { timeout: 15_000 });
  await teacher.waitForSelector('[data-testid=archived]', { timeout: 20_000 });
  assert.equal(await teacher.locator('[data-testid=class-chip]').count(), 0, 'no open class left');
  assert.equal(await teacher.locator('[data-testid=projector]').count(), 0, 'an archived class has no projector');
  assert.equal(await teacher.locator('[data-testid=end-this-class]').count(), 0, 'nor an end button');
  assert.equal(await teacher.locator('[data-testid=export-csv]').count(), 1, 'it still exports');
  for (const p of [teacher, back, anon]) await p.context().close();
});
