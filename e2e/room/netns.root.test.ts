// The NAT room harness (e2e/room/netns.ts) against the real HTTPS server: 30 learner namespaces reach it through one
// masquerading namespace and are seen as ONE address, the instructor outside the NAT as its own; Chromium inside a
// learner namespace loads the page and opens wss trusting only the server's key; cleanup (and a killed run's sweep)
// leaves no namespace, link or nft table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fakeFactory } from '../../server/engine/testing/fake-sandbox.ts';
import { startServer } from '../../server/root/compose.ts';
import { launchInNetns } from './chromium.ts';
import { connectFrom, pinnedTls } from './connect.ts';
import { joinFrom } from './learner.ts';
import { createRoom, roomLinks, roomNamespaces, roomTables, sweepRooms, type Room } from './netns.ts';

// Everything the test makes starts with this (a parallel run on the same machine picks its own).
const PREFIX = process.env.BOXLAB_ROOM_PREFIX ?? 'bxroom';
const skip = process.getuid?.() !== 0 ? 'needs root' : !existsSync('/usr/sbin/nft') ? 'needs nftables' : false;

async function nothingLeft(id: string): Promise<void> {
  assert.deepEqual(await roomNamespaces(id), [], 'no namespace left');
  assert.deepEqual(await roomLinks(id), [], 'no host link left');
  assert.deepEqual(await roomTables(id), [], 'no nft table left');
}

// The page: asks for a session, opens the WebSocket over wss with it and writes what came back into the DOM.
const PAGE = `<!doctype html><html><head><title>room</title></head><body><pre id="out">loading</pre><script>
(async () => {
  const out = document.getElementById('out');
  try {
    const r = await fetch('/api/session', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"name":"chromium"}' });
    const s = await r.json();
    const ws = new WebSocket('wss://' + location.host + s.wsPath, ['boxlab.v1', 'boxlab.token.' + s.token]);
    ws.onmessage = (e) => { if (typeof e.data === 'string') { out.textContent = 'WSS-OK ' + JSON.parse(e.data).type + ' ' + location.protocol; ws.close(); } };
    ws.onerror = () => { out.textContent = 'WSS-ERROR'; };
  } catch (e) { out.textContent = 'FETCH-ERROR ' + e; }
})();
</script></body></html>`;

function curl(room: Room, ns: string, args: string[]): Promise<{ code: number; out: string }> {
  return room.exec(ns, ['curl', '-sS', '--max-time', '30', ...args], { timeoutMs: 60_000 }).then(
    (r) => ({ code: 0, out: r.stdout }),
    (e: Error & { code?: number }) => ({ code: typeof e.code === 'number' ? e.code : -1, out: e.message }),
  );
}

test('a room: 30 learners behind one NAT seen as one address, the instructor as its own, Chromium over https + wss in a learner namespace', {
  skip,
  timeout: 300_000,
}, async (t) => {
  const room = await createRoom({ learners: 30, prefix: PREFIX });
  t.after(() => room.destroy());
  const home = mkdtempSync(join(tmpdir(), 'bxtls-home-'));
  const www = mkdtempSync(join(tmpdir(), 'bxtls-www-'));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  t.after(() => rmSync(www, { recursive: true, force: true }));
  writeFileSync(join(www, 'index.html'), PAGE);
  const fake = fakeFactory();
  const logs: string[] = [];
  const srv = await startServer({
    config: {
      host: room.serverAddress,
      port: 53000 + Math.floor(Math.random() * 1000),
      tls: 'self-signed',
      staticDir: www,
      maxSessions: 100,
      maxPerClient: 100,
    },
    createSandbox: fake.create,
    cgroupVersion: 1,
    home,
    log: (l) => logs.push(l),
    course: { instructorToken: 'room-test-instructor-token', dbPath: ':memory:' },
  });
  t.after(() => srv.close());
  assert.ok(srv.tls);
  assert.ok(srv.tls.names.includes(room.serverAddress), `the certificate names the served address: ${srv.tls.names}`);
  assert.ok(
    logs.some((l) => l === `learners open: https://${room.serverAddress}:${srv.port}/`),
    logs.join('\n'),
  );
  const base = `https://${room.serverAddress}:${srv.port}`;
  const pin = ['-k', '--pinnedpubkey', `sha256//${srv.tls.spki}`];

  // A wrong pin is refused (curl 90: CURLE_SSL_PINNEDPUBKEYNOTMATCH): -k with a pin trusts that key, not any.
  const wrong = await curl(room, room.learners[0]!.name, [
    '-k',
    '--pinnedpubkey',
    `sha256//${Buffer.alloc(32).toString('base64')}`,
    `${base}/api/health`,
  ]);
  assert.equal(wrong.code, 90, wrong.out);
  // Plain http on the same port, from inside the room: redirected to https.
  const redirect = await curl(room, room.learners[0]!.name, [
    '-o',
    '/dev/null',
    '-w',
    '%{http_code} %{redirect_url}',
    `http://${room.serverAddress}:${srv.port}/x`,
  ]);
  assert.equal(redirect.out, `308 ${base}/x`);

  // All 30 at once, each asking for a session as the page does.
  const started = performance.now();
  const answers = await Promise.all(
    room.learners.map((l, i) =>
      curl(room, l.name, [
        ...pin,
        '-X',
        'POST',
        '-H',
        'Content-Type: application/json',
        '--data',
        `{"name":"learner-${i + 1}"}`,
        `${base}/api/session`,
      ]),
    ),
  );
  const ms = performance.now() - started;
  for (const [i, a] of answers.entries()) assert.match(a.out, /"sessionId"/, `learner ${i + 1}: ${a.out}`);
  const ins = await curl(room, room.instructor.name, [
    ...pin,
    '-X',
    'POST',
    '-H',
    'Content-Type: application/json',
    '--data',
    '{"name":"instructor"}',
    `${base}/api/session`,
  ]);
  assert.match(ins.out, /"sessionId"/, ins.out);

  const seen = new Map<string, Set<string>>();
  for (const s of srv.manager.sessions()) {
    const who = s.name === 'instructor' ? 'instructor' : 'learners';
    (seen.get(who) ?? seen.set(who, new Set()).get(who)!).add(s.addr.replace(/^::ffff:/, ''));
  }
  assert.equal(srv.manager.sessions().filter((s) => s.name?.startsWith('learner-')).length, 30);
  assert.deepEqual([...(seen.get('learners') ?? [])], [room.natAddress], "every learner arrives from the room's one address");
  assert.deepEqual([...(seen.get('instructor') ?? [])], [room.instructor.address], 'the instructor is seen with its own address');
  t.diagnostic(`30 learners: sessions created through the NAT in ${ms.toFixed(0)} ms (curl in each namespace, all at once)`);

  // Chromium inside learner 1's namespace, trusting exactly the server's key.
  // Playwright's Chromium in the namespace, waiting for the page's own verdict: --dump-dom with a virtual-time
  // budget dumped before the server's first message under load (the budget runs on while a WebSocket is open).
  const pinned = await launchInNetns(room.learners[0]!.name, srv.tls.spki);
  t.after(() => pinned.close());
  const page = await pinned.browser.newPage();
  await page.goto(`${base}/`);
  await page.waitForFunction(() => document.getElementById('out')?.textContent !== 'loading', null, { timeout: 60_000 });
  const verdict = (await page.textContent('#out')) ?? '';
  assert.match(verdict, /WSS-OK \w+ https:/);
  // Without the pin the same browser does not get the page: the trust above came from the flag.
  const unpinned = await launchInNetns(room.learners[1]!.name, null);
  t.after(() => unpinned.close());
  const refused = await (await unpinned.browser.newPage()).goto(`${base}/`).then(
    () => 'the page loaded',
    (e: Error) => e.message,
  );
  assert.match(refused, /ERR_CERT_[A-Z_]+/, 'an unpinned browser never runs the page');
  t.diagnostic(`chromium with the pin: ${verdict}; without: ${/ERR_CERT_[A-Z_]+/.exec(refused)?.[0]}`);
  const chromiumAddrs = new Set(
    srv.manager
      .sessions()
      .filter((s) => s.name === 'chromium')
      .map((s) => s.addr.replace(/^::ffff:/, '')),
  );
  assert.deepEqual([...chromiumAddrs], [room.natAddress], "the browser's session came through the NAT too");

  // Protocol learners in this process on sockets made inside their namespaces: a session, then wss, as the page does.
  const t1 = performance.now();
  const learnersByProtocol = room.learners.slice(2, 12);
  const joined = await Promise.all(
    learnersByProtocol.map((l, i) => joinFrom(l.name, { host: room.serverAddress, port: srv.port, pin: srv.tls!.spki }, `proto-${i}`)),
  );
  await Promise.all(joined.map((p) => p.waitText(/\$ $/, 30_000)));
  t.diagnostic(`${joined.length} protocol learners (session + wss + prompt): ${(performance.now() - t1).toFixed(0)} ms`);
  for (const p of joined) p.close();
  const protoAddrs = new Set(
    srv.manager
      .sessions()
      .filter((s) => s.name?.startsWith('proto-'))
      .map((s) => s.addr.replace(/^::ffff:/, '')),
  );
  assert.deepEqual([...protoAddrs], [room.natAddress]);
  // A socket from a learner namespace refuses a server whose key is not the pinned one.
  const [c] = await connectFrom(room.learners[12]!.name, room.serverAddress, srv.port, 1);
  await assert.rejects(pinnedTls(c!, Buffer.alloc(32).toString('base64')), /not the pinned one/);

  await srv.close();
  await room.destroy();
  await nothingLeft(room.id);
});

test("a killed run's room is swept by its prefix", { skip, timeout: 120_000 }, async (t) => {
  // A child makes a room and is killed with SIGKILL: nothing of it ran its cleanup.
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      `import('${new URL('./netns.ts', import.meta.url).href}').then(async (m) => { const r = await m.createRoom({ learners: 2, prefix: '${PREFIX}' }); console.log(r.id); setInterval(() => {}, 1000); })`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  t.after(() => child.kill('SIGKILL'));
  const id = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (c) => resolve(String(c).trim()));
    child.on('exit', (code) => reject(new Error(`room child exited ${code}`)));
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  t.after(() => sweepRooms(id));
  assert.equal((await roomNamespaces(id)).length, 4, 'room, instructor and 2 learners outlived the killed run');
  assert.equal((await roomLinks(id)).length, 2, 'uplink and instructor links on the host');
  const swept = await sweepRooms(id);
  assert.equal(swept.namespaces.length, 4);
  await nothingLeft(id);
});

test('a test that fails after making a room leaves nothing (destroy registered with t.after)', { skip, timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bxtls-failing-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'failing.test.mts');
  writeFileSync(
    file,
    `import { test } from 'node:test';
import { createRoom } from '${new URL('./netns.ts', import.meta.url).href}';
test('fails', async (t) => {
  const room = await createRoom({ learners: 3, prefix: '${PREFIX}' });
  t.after(() => room.destroy());
  console.log('ROOM ' + room.id);
  throw new Error('deliberate failure');
});
`,
  );
  const out = await new Promise<{ code: number | null; text: string }>((resolve) => {
    // A test run of its own: without NODE_TEST_CONTEXT, node --test does not take itself for a nested run.
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', file], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
      cwd: process.cwd(),
    });
    let text = '';
    child.stdout.on('data', (c) => (text += c));
    child.stderr.on('data', (c) => (text += c));
    child.on('close', (code) => resolve({ code, text }));
  });
  const id = /ROOM (\w+)/.exec(out.text)?.[1];
  assert.ok(id, out.text);
  t.after(() => sweepRooms(id));
  assert.notEqual(out.code, 0, 'the inner test failed');
  assert.match(out.text, /deliberate failure/);
  await nothingLeft(id);
});
