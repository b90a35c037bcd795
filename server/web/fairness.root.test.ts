// Fairness with real sandboxes: a client flooding pings and keystrokes into its real shell is closed with 1008 while
// another real shell keeps echoing; a rebinding Host gets 421; silent sockets are closed and the fds come back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { request } from 'node:http';
import { FAIRNESS } from './config.ts';
import { startServer } from '../root/compose.ts';
import { TestClient, newSession } from '../root/testing/test-client.ts';

const root = process.getuid?.() === 0;
const PROMPT = /# (\x1b\[6n)?$/;
const fds = () => readdirSync('/proc/self/fd').length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function shell(url: string): Promise<TestClient> {
  const c = new TestClient(url, (await newSession(url)).token);
  await c.opened();
  await c.waitMessage('state', (m) => m.state === 'running', 10_000);
  await c.waitText(PROMPT, 5000);
  return c;
}

test('real boxes: a flood is closed with 1008 while another shell echoes; 421 for a foreign Host; silent sockets closed', {
  skip: !root && 'needs root',
}, async (t) => {
  const fairness = { ...FAIRNESS, headersTimeoutMs: 1000, timeoutCheckMs: 250 };
  const srv = await startServer({ config: { port: 0, staticDir: '/nonexistent/out', maxPerClient: 3, fairness }, log: () => {} });
  t.after(() => srv.close());
  const { url } = srv;
  const quiet = await shell(url);
  const flooder = await shell(url);
  const base = fds();
  for (let i = 0; i < 10_000; i++) {
    if (i % 2) flooder.control({ type: 'ping', t: i });
    else flooder.type(i % 4 ? '\x7f' : 'x');
  }
  const from = quiet.text().length;
  const t0 = performance.now();
  quiet.type('echo still-$((6*7))\r');
  await quiet.until(() => /still-42/.test(quiet.text().slice(from)), 5000, 'quiet echo during the flood');
  const echoMs = performance.now() - t0;
  const closed = await flooder.waitClose(10_000);
  t.diagnostic(
    `quiet command answered in ${echoMs.toFixed(0)} ms during the flood; flooder closed ${closed.code} "${closed.reason}" after ${flooder.of('pong').length} pongs`,
  );
  assert.deepEqual(closed, { code: 1008, reason: 'over budget' });
  assert.ok(echoMs < 1000, `quiet shell answered in ${echoMs.toFixed(0)} ms`);
  assert.equal(quiet.closed, null);

  const status = await new Promise<number>((resolve, reject) => {
    const u = new URL(url);
    request(
      {
        host: u.hostname,
        port: u.port,
        method: 'POST',
        path: '/api/session',
        setHost: false,
        headers: { Host: `rebind.example:${u.port}`, Origin: `http://rebind.example:${u.port}` },
      },
      (res) => (res.resume(), resolve(res.statusCode!)),
    )
      .on('error', reject)
      .end();
  });
  assert.equal(status, 421);

  const socks: Socket[] = [];
  let closedByServer = 0;
  for (let i = 0; i < 50; i++) {
    const s = connect({ host: '127.0.0.1', port: srv.port });
    s.on('error', () => {});
    s.on('close', () => closedByServer++);
    s.resume();
    socks.push(s);
  }
  await sleep(2500);
  assert.equal(closedByServer, 50, 'silent sockets closed after the header timeout');
  await sleep(200);
  assert.ok(fds() <= base + 2, `fds ${fds()} back to the baseline ${base} (the flooder's socket is gone too)`);
  quiet.type('echo after\r');
  await quiet.waitText(/\r\nafter\r\n/, 5000);
});
