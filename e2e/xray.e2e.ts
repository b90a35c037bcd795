// End-to-end x-ray in Chromium against the real engine: three processes, namespaces, /tmp/x in the upper layer, sleep in the tree.
// Run (as root): NEXT_TELEMETRY_DISABLED=1 npx next build && node --import tsx --test e2e/xray.e2e.ts
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { RunningServer } from '../server/root/compose.ts';
import { launchBrowser, waitForPhase, waitForScreen } from './browser.ts';
import { runCommand } from './terminal-actions.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = `${root}e2e/output`;
const isRoot = process.getuid?.() === 0;
const skip = !isRoot && 'needs root: real sandboxes';
const results: Record<string, unknown> = {};

let server: RunningServer;
let browser: Browser;
let ctx: BrowserContext;
let page: Page;

const shot = (name: string) => page.screenshot({ path: `${outDir}/${name}.png` });
const tab = async (id: string) => {
  await page.click(`[data-testid=xray-tab-${id}]`);
  await page.waitForSelector(`#xray-panel[data-view=${id}]`);
  await page.waitForTimeout(350); // rows fade in over 180 ms: screenshots after it
};

before(async () => {
  if (skip) return;
  assert.ok(existsSync(`${root}out/index.html`), 'front end not built: run `NEXT_TELEMETRY_DISABLED=1 npx next build` first');
  mkdirSync(outDir, { recursive: true });
  const { startServer } = await import('../server/root/compose.ts');
  server = await startServer({ config: { port: 0, host: '127.0.0.1' }, log: () => {} });
  browser = await launchBrowser();
  ctx = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'dark' });
  page = await ctx.newPage();
  page.on('pageerror', (e) => console.log(`# page error: ${e.message}`));
});

after(async () => {
  console.log(`# x-ray e2e results: ${JSON.stringify(results)}`);
  await browser?.close();
  await server?.close();
});

test('the double fork: three processes with their host pids, the box pid 1, and a replay', { skip }, async () => {
  await page.goto(server.url);
  await page.waitForFunction(() => window.__boxlab !== undefined);
  await page.click('[data-testid=start]');
  await waitForPhase(page, 'running', 30_000);
  await waitForScreen(page, /[#$]$/, 15_000);
  await tab('fork');
  const cards = await page.$$eval('[data-testid^=fork-proc-]', (els) =>
    els.map((e) => [e.getAttribute('data-testid'), e.getAttribute('data-alive'), e.textContent]),
  );
  assert.equal(cards.length, 3);
  for (const [id, alive, text] of cards) {
    assert.equal(alive, 'true', `${id} alive`);
    assert.match(text!, /host pid \d+/, `${id} shows its host pid`);
  }
  assert.match(cards.find((c) => c[0] === 'fork-proc-inner_child')![2]!, /box pid 1/);
  const rows = await page.$$eval('[data-fork-row]', (els) =>
    els.filter((e) => e.getAttribute('data-pending') === 'false').map((e) => e.getAttribute('data-fork-row')),
  );
  assert.equal(rows[0], 'prepare_state');
  assert.ok(rows.includes('fork1') && rows.includes('fork2') && rows.includes('pivot_root') && rows.includes('exec'));
  const pendingTeardown = await page.$$eval('[data-fork-row][data-pending=true]', (els) => els.map((e) => e.getAttribute('data-fork-row')));
  assert.deepEqual(pendingTeardown, [
    'child_exit',
    'umount_proc',
    'umount_dev',
    'namespaced_parent_exit',
    'overlay_umount',
    'cgroup_remove',
    'cleanup_done',
  ]);
  await shot('20-xray-fork');
  await page.click('[data-testid=fork-replay]');
  await page.waitForFunction(() => /^\s*3\//.test(document.querySelector('[data-testid=fork-caption]')?.textContent ?? ''), null, {
    timeout: 5000,
  });
  await shot('21-xray-fork-replay');
  await page.click('button:has-text("Live")');
});

test('namespaces: every isolated kind with a box inode different from the host one', { skip }, async () => {
  await tab('ns');
  await page.waitForSelector('[data-testid=ns-row-pid][data-box]:not([data-box=""])');
  const rows = await page.$$eval('[data-testid^=ns-row-]', (els) =>
    els.map((e) => ({
      kind: e.getAttribute('data-testid')!.slice(7),
      host: e.getAttribute('data-host'),
      box: e.getAttribute('data-box'),
      isolated: e.getAttribute('data-isolated'),
    })),
  );
  const isolated = rows.filter((r) => r.kind !== 'time');
  assert.deepEqual(
    isolated.map((r) => r.kind),
    ['pid', 'mnt', 'uts', 'ipc', 'net', 'user', 'cgroup'],
  );
  for (const r of isolated) {
    assert.ok(r.host && r.box && r.host !== r.box, `${r.kind}: host ${r.host} vs box ${r.box}`);
    assert.equal(r.isolated, 'true');
  }
  assert.equal(new Set(isolated.map((r) => r.box)).size, isolated.length, 'each box namespace is its own');
  const init = await page.evaluate(() => window.__boxlab!.client.getView().stages.find((s) => s.stage === 'running')!.hostPid!);
  for (const r of isolated) assert.equal(readlinkSync(`/proc/${init}/ns/${r.kind}`), `${r.kind}:[${r.box}]`, 'what the kernel says');
  results.namespaces = rows;
  await shot('22-xray-namespaces');
});

test('layers: `echo hi > /tmp/x` appears in the upper layer, and pointing at it names the layer', { skip }, async () => {
  await tab('layers');
  await page.waitForSelector('[data-testid=slab-upper]');
  await page.click('.xterm');
  const t0 = Date.now();
  await runCommand(page, 'echo hi > /tmp/x');
  await page.waitForSelector('[data-testid=upper-file][data-path="/tmp/x"][data-change=created]', { timeout: 5000 });
  results.fileToViewMs = Date.now() - t0;
  await page.hover('[data-testid=upper-file][data-path="/tmp/x"]');
  assert.match((await page.textContent('[data-testid=layer-pointer]'))!, /\/tmp\/x: created in the box: only the upper layer/);
  await runCommand(page, 'rm /etc/motd 2>/dev/null; rm /etc/hostname; echo y >> /etc/passwd');
  await page.waitForSelector('[data-testid=upper-file][data-path="/etc/hostname"][data-change=deleted]', { timeout: 5000 });
  await page.waitForSelector('[data-testid=upper-file][data-path="/etc/passwd"][data-change=modified]', { timeout: 5000 });
  assert.ok(await page.$('[data-testid=mount-table] [data-mount="/proc"]'), 'the mount table lists /proc');
  await page.mouse.move(0, 0);
  await page.$eval('#xray-panel', (el) => (el.scrollTop = 0));
  await shot('23-xray-layers');
});

test('processes: `sleep 100 &` shows up with its pid in the box and on the host (NSpid)', { skip }, async () => {
  await tab('procs');
  await page.waitForSelector('[data-testid^=proc-][data-pid="1"]');
  await page.click('.xterm');
  const t0 = Date.now();
  await runCommand(page, 'sleep 100 &');
  const node = await page.waitForSelector('[data-testid^=proc-][data-name=sleep]', { timeout: 5000 });
  results.sleepToViewMs = Date.now() - t0;
  const pid = Number(await node.getAttribute('data-pid'));
  const hostPid = Number(await node.getAttribute('data-host-pid'));
  assert.ok(pid > 1 && hostPid > pid, `box pid ${pid}, host pid ${hostPid}`);
  const nspid = (/\nNSpid:\s*([^\n]*)/.exec(readFileSync(`/proc/${hostPid}/status`, 'utf8'))?.[1] ?? '').trim().split(/\s+/).map(Number);
  assert.deepEqual(nspid, [hostPid, pid], 'the pair the view shows is the kernel’s NSpid');
  assert.match((await node.textContent())!, new RegExp(`host ${hostPid}`));
  assert.match((await page.textContent('[data-testid=procs-count]')) ?? '', /\d+ in the box/);
  await shot('24-xray-processes');
});

test('cgroups: gauges with history; a memory hog in the verified 256M box flashes an OOM kill', { skip }, async () => {
  await tab('cgroup');
  await page.waitForSelector('[data-testid=cg-memory]');
  await page.waitForTimeout(1500); // a few samples of history
  await shot('25-xray-cgroups');
  // Bomb rule: only with the memory limit read back from this box's own cgroup.
  const limit = await page.evaluate(() => window.__boxlab!.client.getView().stats?.memory.limit ?? null);
  assert.equal(limit, 256 * 1024 * 1024, 'memory limit of the box verified before the hog');
  await page.click('.xterm');
  await runCommand(page, 'dd if=/dev/zero of=/dev/null bs=300M count=1 2>/dev/null; echo status=$?', 20_000);
  await page.waitForSelector('[data-testid=cg-oom]:not([data-oom="0"])', { timeout: 5000 });
  await page.waitForTimeout(300);
  await shot('26-xray-cgroups-oom');
});

test('light theme, large text and the wide x-ray (projector)', { skip }, async () => {
  await page.click('button[aria-label="Switch to light theme"]');
  await page.click('button[aria-pressed]:not([data-testid=xray-wide])');
  await page.click('[data-testid=xray-wide]');
  await page.waitForTimeout(400);
  for (const id of ['fork', 'ns', 'procs', 'cgroup', 'layers']) {
    await tab(id);
    await page.waitForTimeout(id === 'cgroup' ? 1200 : 500);
    await shot(`27-xray-light-wide-${id}`);
  }
  await page.click('[data-testid=xray-wide]');
  await page.click('button[aria-pressed]:not([data-testid=xray-wide])');
  await page.click('button[aria-label="Switch to dark theme"]');
});
