// Fairness on a real server (FakeSandbox shells): a flooding socket slowed then closed with 1008 while another's echo
// stays quick, a paste slowed but whole, connection attempts paced per address, silent and half-done sockets closed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { FAIRNESS, type FairnessLimits } from './config.ts';
import { TestClient, http, newSession, rawUpgrade, start } from '../root/testing/test-client.ts';

const fds = () => readdirSync('/proc/self/fd').length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function shell(url: string): Promise<TestClient> {
  const c = new TestClient(url, (await newSession(url)).token);
  await c.opened();
  await c.waitText(/\$ $/);
  return c;
}

/** ms from a keystroke to its echo. */
async function echoMs(c: TestClient, ch: string): Promise<number> {
  const from = c.text().length;
  const t0 = performance.now();
  c.type(ch);
  await c.until(() => c.text().slice(from).includes(ch), 5000, `echo of ${ch}`);
  return performance.now() - t0;
}

function limits(over: Partial<FairnessLimits>): FairnessLimits {
  return { ...FAIRNESS, ...over };
}

test('a client sending 10,000 messages at once is slowed, then closed with 1008; another session keeps its echo', async (t) => {
  const fairness = limits({
    session: { messages: { perSec: 200, burst: 200 }, bytes: { perSec: 1e6, burst: 1e6 } },
    closeAfterMs: 2000,
    maxDebtMs: 1000,
  });
  const { url, srv } = await start(t, { fairness, maxPerClient: 5 });
  const quiet = await shell(url);
  const flooder = await shell(url);
  const before: number[] = [];
  for (const ch of 'abcde') before.push(await echoMs(quiet, ch));
  for (let i = 0; i < 10_000; i++) {
    if (i % 2) flooder.control({ type: 'ping', t: i });
    else flooder.type('x');
  }
  const during: number[] = [];
  for (const ch of 'fghijklmno') {
    during.push(await echoMs(quiet, ch));
    await sleep(20);
  }
  const closed = await flooder.waitClose(5000);
  assert.deepEqual(closed, { code: 1008, reason: 'over budget' });
  assert.ok(srv.sockets.overBudget.slowed >= 1 && srv.sockets.overBudget.closed === 1, JSON.stringify(srv.sockets.overBudget));
  const pongs = flooder.of('pong').length;
  t.diagnostic(
    `flooder: ${pongs} pongs before the close; quiet echo before ${before.map((x) => x.toFixed(1)).join(' ')} ms, during ${during.map((x) => x.toFixed(1)).join(' ')} ms`,
  );
  assert.ok(pongs < 1500, `the flood was cut short (${pongs} of 5000 pings answered)`);
  assert.ok(Math.max(...during) < 250, `quiet echo during the flood: ${during.map((x) => x.toFixed(1))}`);
  assert.equal(quiet.closed, null);
  assert.equal(srv.manager.size, 2, 'the session outlives its socket (a reconnect finds it; its budget is kept)');
});

test('whole acks cost a tenth of a message: 1000 of them pass a 200/s budget, 1000 tiny ones do not', async (t) => {
  const fairness = limits({
    session: { messages: { perSec: 200, burst: 200 }, bytes: { perSec: 1e6, burst: 1e6 } },
    closeAfterMs: 5000,
    maxDebtMs: 1000,
  });
  const { url, srv } = await start(t, { fairness, maxPerClient: 5 });
  const fast = await shell(url);
  for (let i = 0; i < 1000; i++) fast.control({ type: 'ack', bytes: 32 * 1024 });
  fast.control({ type: 'ping', t: 1 });
  await fast.waitMessage('pong');
  assert.deepEqual([srv.sockets.overBudget.slowed, srv.sockets.overBudget.closed], [0, 0]);
  const tiny = await shell(url);
  for (let i = 0; i < 1000; i++) tiny.control({ type: 'ack', bytes: 1 });
  assert.equal((await tiny.waitClose(5000)).code, 1008);
  assert.equal(fast.closed, null);
});

test('reconnecting in a loop: attaches per session delayed over the budget, then refused with 429', async (t) => {
  const fairness = limits({ attach: { perSec: 2, burst: 2 }, attachMaxDelayMs: 600 });
  const { url, srv } = await start(t, { fairness });
  const { token } = await newSession(url);
  const up = () => rawUpgrade(url, { Origin: url, 'Sec-WebSocket-Protocol': `boxlab.v1, boxlab.token.${token}` }).then((r) => r.status);
  const t0 = performance.now();
  const statuses = await Promise.all([up(), up(), up(), up()]);
  const ms = performance.now() - t0;
  assert.deepEqual(statuses.sort(), [101, 101, 101, 429]);
  assert.ok(ms >= 450, `the third waited for its token (${ms.toFixed(0)} ms)`);
  assert.deepEqual([srv.sockets.overBudget.delayedAttaches, srv.sockets.overBudget.refusedAttaches], [1, 1]);
  const other = await newSession(url);
  const r = await rawUpgrade(url, { Origin: url, 'Sec-WebSocket-Protocol': `boxlab.v1, boxlab.token.${other.token}` });
  assert.equal(r.status, 101, 'another session has its own budget');
});

test('a paste over the byte budget is slowed, not closed, and arrives whole', async (t) => {
  const fairness = limits({
    session: { messages: { perSec: 1000, burst: 1000 }, bytes: { perSec: 200 * 1024, burst: 64 * 1024 } },
    closeAfterMs: 5000,
    maxDebtMs: 1000,
  });
  const { url, srv, fake } = await start(t, { fairness });
  const c = await shell(url);
  const chunk = Buffer.alloc(16 * 1024, 0x01); // control bytes the fake shell neither echoes nor keeps: only pacing is timed
  const t0 = performance.now();
  for (let i = 0; i < 16; i++) c.ws.send(chunk, { binary: true }); // 256 KiB
  const box = fake.made[0]!;
  await c.until(() => box.input.reduce((n, b) => n + b.length, 0) >= 256 * 1024, 5000, 'whole paste written');
  const ms = performance.now() - t0;
  t.diagnostic(`256 KiB paste with a 64 KiB burst at 200 KiB/s took ${ms.toFixed(0)} ms`);
  assert.ok(ms >= 700, `paced: ${ms.toFixed(0)} ms (176 KiB over the burst before the last frame, at 200 KiB/s: 880 ms)`);
  assert.ok(srv.sockets.overBudget.slowed >= 1);
  assert.equal(c.closed, null);
  c.type('echo ok\r');
  await c.waitText(/ok\r\n\$ $/);
});

function silent(url: string, n: number): Promise<{ socks: Socket[]; closed: () => number; refused: () => number }> {
  const u = new URL(url);
  let closed = 0;
  let refused = 0;
  const socks: Socket[] = [];
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<void>((resolve) => {
          const s = connect({ host: u.hostname, port: Number(u.port) }, () => resolve());
          s.on('data', (d) => void (String(d).startsWith('HTTP/1.1 429') && refused++));
          s.on('error', () => resolve());
          s.on('close', () => closed++);
          socks.push(s);
        }),
    ),
  ).then(() => ({ socks, closed: () => closed, refused: () => refused }));
}

test('silent connections, half-sent headers and refused upgrades are closed after their timeouts; fds back to baseline', async (t) => {
  const fairness = limits({ headersTimeoutMs: 1000, requestTimeoutMs: 2000, timeoutCheckMs: 200, handshakeMs: 800 });
  const { url } = await start(t, { fairness });
  await http(url, 'GET', '/api/health');
  const base = fds();
  const s = await silent(url, 100);
  const half = connect({ host: '127.0.0.1', port: Number(new URL(url).port) }, () => half.write('GET / HTTP/1.1\r\nHost: x'));
  // An upgrade refused with 401 whose client never closes its side.
  const refused = connect({ host: '127.0.0.1', port: Number(new URL(url).port), allowHalfOpen: true }, () =>
    refused.write(
      `GET /ws HTTP/1.1\r\nHost: ${new URL(url).host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nOrigin: ${url}\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: boxlab.v1\r\n\r\n`,
    ),
  );
  let refusedAnswer = '';
  let refusedClosedAt = 0;
  refused.on('data', (d) => (refusedAnswer += d));
  refused.on('end', () => {}); // keep our side open: the server must cut it
  refused.on('close', () => (refusedClosedAt = performance.now()));
  refused.on('error', () => {});
  const t0 = performance.now();
  let halfClosed = 0;
  half.on('close', () => (halfClosed = performance.now() - t0));
  half.on('error', () => {});
  half.resume(); // read its 408, so its end (and close) is seen
  await sleep(300);
  assert.ok(fds() >= base + 100, `server side of 100 silent sockets open (${fds() - base} more fds)`);
  await sleep(1500);
  // Our side stays open; once the server has closed its fd, a byte sent is answered by a reset (seen at the next write).
  refused.write('x');
  await sleep(200);
  refused.write('x');
  await sleep(500);
  assert.equal(s.closed(), 100, 'every silent socket closed by the server');
  assert.ok(halfClosed > 0 && halfClosed < 2500, `half-sent headers closed after ${halfClosed.toFixed(0)} ms`);
  assert.match(refusedAnswer, /^HTTP\/1.1 401/);
  assert.ok(refusedClosedAt > 0, 'the refused upgrade was cut although its client kept its side open');
  for (const x of s.socks) x.destroy();
  await sleep(200);
  assert.ok(fds() <= base + 2, `fds ${fds()} vs baseline ${base}`);
});

test('connection attempts per address: over the burst held, then refused with 429; open connections capped', async (t) => {
  const fairness = limits({
    headersTimeoutMs: 3000,
    timeoutCheckMs: 200,
    connections: { attempts: { perSec: 20, burst: 10 }, maxDelayMs: 500, maxOpenPerAddress: 40 },
  });
  const { url, srv } = await start(t, { fairness });
  const burst = await silent(url, 30);
  await sleep(100);
  const g = srv.gate.stats;
  t.diagnostic(JSON.stringify(g));
  // 10 from the burst, ~10 more within 500 ms of debt (20/s), the rest refused.
  assert.ok(g.admitted >= 19 && g.admitted <= 22, `admitted ${g.admitted}`);
  assert.ok(g.delayed >= 9, `delayed ${g.delayed}`);
  assert.equal(g.refusedRate, 30 - g.admitted);
  await sleep(200);
  assert.equal(burst.refused(), g.refusedRate, 'each refused attempt got a 429');
  await sleep(1500); // the budget refills; 40 open is the cap
  const more = await silent(url, 30);
  await sleep(200);
  assert.ok(srv.gate.stats.refusedOpen >= 1, `open cap: ${JSON.stringify(srv.gate.stats)}`);
  for (const x of [...burst.socks, ...more.socks]) x.destroy();
  await sleep(1200);
  assert.equal((await http(url, 'GET', '/api/health')).status, 200, 'the address is served again');
});
