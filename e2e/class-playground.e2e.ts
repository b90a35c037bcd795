// End-to-end (real engine, root): learners on the playground page (not in a lesson) follow the class: banner, move, reset notice, "Class over".
// Run: NEXT_TELEMETRY_DISABLED=1 npx next build --webpack && node --import tsx --test e2e/class-playground.e2e.ts
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../server/root/compose.ts';
import { TestClient, http } from '../server/root/testing/test-client.ts';
import { launchBrowser, waitForPhase } from './browser.ts';
import { runCommand } from './terminal-actions.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = `${root}e2e/output`;
const dbDir = mkdtempSync(path.join(os.tmpdir(), 'boxlab-e2e-classpg-'));
const TOKEN = 'e2e-class-playground-token-0123456789';
const auth = { Authorization: `Bearer ${TOKEN}` };
let server: RunningServer;
let browser: Browser;
let instructor: TestClient;
let instructorId: string;

async function act(body: object): Promise<{ affected: number }> {
  const r = await http(server.url, 'POST', '/api/classroom/action', JSON.stringify(body), auth);
  assert.equal(r.status, 200, r.body);
  return JSON.parse(r.body);
}

/** A learner on the playground page with a running box. */
async function playground(name: string): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'dark' });
  const p = await ctx.newPage();
  p.on('pageerror', (e) => console.log(`# ${name} page error: ${e.message}`));
  await p.goto(server.url);
  await p.click('[data-testid=start]');
  await waitForPhase(p, 'running', 30_000);
  return p;
}

before(async () => {
  assert.ok(existsSync(`${root}out/index.html`), 'front end not built: run `NEXT_TELEMETRY_DISABLED=1 npx next build --webpack` first');
  mkdirSync(outDir, { recursive: true });
  const { startServer } = await import('../server/root/compose.ts');
  server = await startServer({
    config: { port: 0, host: '127.0.0.1', maxPerClient: 10 },
    course: { dbPath: path.join(dbDir, 'boxlab.db'), instructorToken: TOKEN },
    log: () => {},
  });
  browser = await launchBrowser();
  // The instructor's own terminal (what they broadcast), over the protocol: the dashboard itself is classroom.e2e.ts's.
  const inst = JSON.parse((await http(server.url, 'POST', '/api/classroom/session', '', auth)).body) as {
    sessionId: string;
    token: string;
  };
  instructorId = inst.sessionId;
  instructor = new TestClient(server.url, inst.token);
  await instructor.waitMessage('state', (m) => m.state === 'running', 30_000);
});

after(async () => {
  await browser?.close();
  await server?.close();
  rmSync(dbDir, { recursive: true, force: true });
});

test('playground learners: broadcast banner, move to a lesson, reset with a notice, then "Class over"', async () => {
  const ada = await playground('Ada');
  const bob = await playground('Bob');
  assert.equal((await act({ action: 'broadcast', sessionId: instructorId })).affected, 2);
  for (const p of [ada, bob]) await p.waitForSelector('[data-testid=broadcast-banner]', { timeout: 10_000 });
  assert.match((await ada.textContent('[data-testid=broadcast-banner]')) ?? '', /Instructor is broadcasting/);
  // Following works from the playground page as from a lesson page.
  await ada.click('[data-testid=follow]');
  await ada.waitForSelector('[data-testid=follow-panel]');
  await ada.click('[data-testid=unfollow]');
  await ada.screenshot({ path: `${outDir}/class-playground-banner.png` });

  // A learner who opens the playground while the broadcast is on sees the banner at once.
  const cy = await playground('Cy');
  await cy.waitForSelector('[data-testid=broadcast-banner]', { timeout: 10_000 });
  await cy.context().close();

  // Reset everyone: the box is fresh (the file is gone) and the page says why its screen was cleared.
  await ada.click('[data-testid=terminal]');
  assert.match(await runCommand(ada, 'echo mi""ne > /root/mark && cat /root/mark'), /^mine$/m);
  const boxBefore = server.manager.sessions().map((s) => s.session.sandbox?.id);
  await act({ action: 'reset_all' });
  await ada.waitForSelector('[data-testid=class-notice]', { timeout: 10_000 });
  assert.match((await ada.textContent('[data-testid=class-notice]')) ?? '', /Your instructor reset your box/);
  await waitForPhase(ada, 'running', 30_000);
  assert.notDeepEqual(
    server.manager.sessions().map((s) => s.session.sandbox?.id),
    boxBefore,
    'new boxes',
  );
  await ada.click('[data-testid=terminal]');
  assert.match(await runCommand(ada, 'ls /root/mark || echo no-mark-$((6*7))'), /no-mark-42/);
  await ada.screenshot({ path: `${outDir}/class-playground-reset.png` });

  // Move everyone: Bob (on the playground) lands on the lesson page with his box.
  await act({ action: 'goto', slug: 'overlayfs' });
  await bob.waitForURL(/\/lessons\/overlayfs$/, { timeout: 10_000 });
  await waitForPhase(bob, 'running', 30_000);
  // Ada was moved too; she goes back to the playground (her box comes with her).
  await ada.waitForURL(/\/lessons\/overlayfs$/, { timeout: 10_000 });
  await ada.goto(server.url);
  await waitForPhase(ada, 'running', 30_000);

  // End the class: "Class over" on the playground, not a generic "Session ended".
  await act({ action: 'end' });
  for (const p of [ada, bob]) await p.waitForSelector('[data-testid=class-ended]', { timeout: 10_000 });
  assert.match((await ada.textContent('[data-testid=class-ended]')) ?? '', /Class over.*ended the class/s);
  await waitForPhase(ada, 'ended', 10_000);
  assert.doesNotMatch((await ada.textContent('main')) ?? '', /Session ended/);
  await ada.screenshot({ path: `${outDir}/class-playground-ended.png` });
  assert.equal(server.manager.size, 0, 'every box torn down');
});
