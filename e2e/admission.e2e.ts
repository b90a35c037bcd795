// End-to-end (real engine, root): a box the host cannot back is refused on the page with the memory limit and a retry, not "Every sandbox is in use".
// Run: NEXT_TELEMETRY_DISABLED=1 npx next build --webpack && node --import tsx --test e2e/admission.e2e.ts
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import type { RunningServer } from '../server/root/compose.ts';
import { memAvailable } from '../server/sessions/admission.ts';
import { launchBrowser, waitForPhase } from './browser.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = `${root}e2e/output`;
let server: RunningServer;
let browser: Browser;
let perBoxMiB = 0;

async function open(): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'dark' });
  const p = await ctx.newPage();
  await p.goto(server.url);
  await p.click('[data-testid=start]');
  return p;
}

before(async () => {
  assert.ok(existsSync(`${root}out/index.html`), 'front end not built: run `NEXT_TELEMETRY_DISABLED=1 npx next build --webpack` first');
  mkdirSync(outDir, { recursive: true });
  const avail = memAvailable(readFileSync('/proc/meminfo', 'utf8'));
  assert.ok(avail);
  // One box promises 2/3 of MemAvailable, a second 4/3: only one fits (the limit is written, never allocated).
  perBoxMiB = Math.floor(avail / 1.5 / 1048576);
  const { startServer } = await import('../server/root/compose.ts');
  server = await startServer({
    config: { port: 0, host: '127.0.0.1', memoryBytes: perBoxMiB * 1048576, memoryOvercommit: 1, maxPerClient: 10 },
    log: () => {},
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test('the second box is refused on the page: what limit, the figures, and when Boxlab tries again', async () => {
  const first = await open();
  await waitForPhase(first, 'running', 30_000);
  const second = await open();
  await waitForPhase(second, 'full', 15_000);
  const cover = (await second.textContent('main')) ?? '';
  assert.match(cover, /This server is out of memory for new boxes/);
  assert.doesNotMatch(cover, /Every sandbox is in use/);
  const refusal = (await second.textContent('[data-testid=refusal]')) ?? '';
  assert.match(refusal, new RegExp(`another ${perBoxMiB} MiB box: boxes already hold ${perBoxMiB} MiB of \\d+ MiB the host can back`));
  assert.match(cover, /Boxlab will try again in \d+ s/);
  await second.screenshot({ path: `${outDir}/admission-refused.png` });
  assert.equal(server.manager.size, 1, 'the first box lives');
});
