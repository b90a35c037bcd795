// The real front end in Chromium inside a learner namespace behind the room's NAT, over self-signed HTTPS: plain http
// redirects, secure context, Start gives a shell over wss; the instructor outside the NAT opens the classroom. Needs out/ (npx next build --webpack).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fakeFactory } from '../../server/engine/testing/fake-sandbox.ts';
import { startServer } from '../../server/root/compose.ts';
import { waitForPhase, waitForScreen } from '../browser.ts';
import { launchInNetns } from './chromium.ts';
import { createRoom } from './netns.ts';

const OUT = fileURLToPath(new URL('../../out', import.meta.url));
const PREFIX = process.env.BOXLAB_ROOM_PREFIX ?? 'bxroom';
const skip =
  process.getuid?.() !== 0
    ? 'needs root'
    : !existsSync(join(OUT, 'index.html'))
      ? 'needs the web bundle (npx next build --webpack)'
      : false;

test('the playground page in Chromium inside a learner namespace: https, secure context, a shell over wss', {
  skip,
  timeout: 180_000,
}, async (t) => {
  const room = await createRoom({ learners: 2, prefix: PREFIX });
  t.after(() => room.destroy());
  const home = mkdtempSync(join(tmpdir(), 'boxlab-room-home-'));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  const fake = fakeFactory();
  const srv = await startServer({
    config: { host: room.serverAddress, port: 53000 + Math.floor(Math.random() * 1000), tls: 'self-signed', staticDir: OUT },
    createSandbox: fake.create,
    cgroupVersion: 1,
    home,
    log: () => {},
    course: { instructorToken: 'room-page-instructor-token', dbPath: ':memory:' },
  });
  t.after(() => srv.close());
  const b = await launchInNetns(room.learners[0]!.name, srv.tls!.spki);
  t.after(() => b.close());
  const page = await b.browser.newPage();
  // Typed without a scheme, a browser asks http first: the same port answers 308 to https.
  await page.goto(`http://${room.serverAddress}:${srv.port}/`);
  assert.equal(page.url(), `https://${room.serverAddress}:${srv.port}/`);
  assert.equal(await page.evaluate(() => window.isSecureContext), true, 'secure context: the clipboard API is there');
  await page.waitForSelector('[data-testid=start]');
  await page.waitForFunction(() => window.__boxlab !== undefined);
  await page.waitForTimeout(400);
  await page.click('[data-testid=start]');
  await waitForPhase(page, 'running', 30_000);
  await waitForScreen(page, /\$$/, 15_000);
  const addrs = new Set(srv.manager.sessions().map((s) => s.addr.replace(/^::ffff:/, '')));
  assert.deepEqual([...addrs], [room.natAddress], "the page's session came through the NAT");
  assert.ok(await page.evaluate(() => typeof navigator.clipboard?.writeText === 'function'));

  // The instructor, outside the NAT, opens the classroom with the token over the same certificate.
  const ib = await launchInNetns(room.instructor.name, srv.tls!.spki);
  t.after(() => ib.close());
  const ipage = await ib.browser.newPage();
  const dashboard = ipage.waitForResponse((r) => new URL(r.url()).pathname === '/api/classroom' && r.status() === 200, { timeout: 30_000 });
  await ipage.goto(`https://${room.serverAddress}:${srv.port}/classroom#token=room-page-instructor-token`);
  const body = JSON.stringify(await (await dashboard).json());
  assert.ok(body.includes(srv.manager.sessions()[0]!.session.id), "the dashboard lists the learner's session");
});
