// The web server over loopback with FakeSandbox: HTTP API, upgrade auth, hello/echo/resize, bad input, capacity, shutdown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { STAGES } from '../engine/types.ts';
import { TestClient, http, newSession, rawUpgrade, start } from '../root/testing/test-client.ts';

async function connect(url: string, token: string): Promise<TestClient> {
  const c = new TestClient(url, token);
  await c.opened();
  await c.waitMessage('state', (m) => m.state === 'running');
  await c.waitText(/\$ $/);
  return c;
}

test('POST /api/session and GET /api/health', async (t) => {
  const { url } = await start(t);
  const r = await http(url, 'POST', '/api/session', '{"name":"alice"}', { 'Content-Type': 'application/json' });
  assert.equal(r.status, 201);
  const body = JSON.parse(r.body);
  assert.match(body.token, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(body.wsPath, '/ws');
  assert.deepEqual(body.limits, { memory: '256M', cpuLimit: '0.5', pids: 128, disk: '64M', lifetimeSec: 7200, idleSec: 1800 });
  assert.equal(r.headers['cache-control'], 'no-store');
  const h = JSON.parse((await http(url, 'GET', '/api/health')).body);
  assert.match(h.bootId, /^[0-9a-f]{16}$/);
  assert.equal(h.bootId, body.bootId, 'the session names the server process that made it');
  assert.deepEqual({ ...h, bootId: undefined }, { ok: true, sessions: 1, capacity: 200, cgroupVersion: 1, bootId: undefined });
  assert.equal((await http(url, 'POST', '/api/session', '{"name":5}')).status, 400);
  assert.equal((await http(url, 'POST', '/api/session', 'not json')).status, 400);
  assert.equal((await http(url, 'POST', '/api/session', 'x'.repeat(5000))).status, 413);
  assert.equal((await http(url, 'GET', '/api/session')).status, 405);
  assert.equal((await http(url, 'GET', '/api/nothing')).status, 404);
  assert.equal((await http(url, 'POST', '/api/session', '', { Origin: 'https://evil.example' })).status, 403);
  assert.equal((await http(url, 'GET', '/')).status, 404, 'static handler answers outside /api');
});

test('upgrade auth: 403 for a foreign or missing origin, 401 without a valid token, 404 off /ws; 101 otherwise', async (t) => {
  const { url, srv } = await start(t);
  const { token } = await newSession(url);
  const proto = `boxlab.v1, boxlab.token.${token}`;
  const cases: [Record<string, string>, number, string?][] = [
    [{ Origin: url, 'Sec-WebSocket-Protocol': proto }, 101],
    [{ Origin: 'https://evil.example', 'Sec-WebSocket-Protocol': proto }, 403],
    [{ 'Sec-WebSocket-Protocol': proto }, 403],
    [{ Origin: url }, 401],
    [{ Origin: url, 'Sec-WebSocket-Protocol': 'boxlab.v1' }, 401],
    [{ Origin: url, 'Sec-WebSocket-Protocol': `boxlab.token.${token}` }, 401],
    [{ Origin: url, 'Sec-WebSocket-Protocol': 'boxlab.v1, boxlab.token.' + 'A'.repeat(43) }, 401],
    [{ Origin: url, 'Sec-WebSocket-Protocol': proto }, 404, '/other'],
  ];
  for (const [headers, want, path] of cases) {
    const r = await rawUpgrade(url, headers, path);
    assert.equal(r.status, want, `${JSON.stringify(headers)} ${path ?? ''}`);
  }
  // Allowed extra origin.
  await srv.close();
  const other = await start(t, { allowedOrigins: ['https://boxlab.example'] });
  const s2 = await newSession(other.url);
  const ok = await rawUpgrade(other.url, {
    Origin: 'https://boxlab.example',
    'Sec-WebSocket-Protocol': `boxlab.v1, boxlab.token.${s2.token}`,
  });
  assert.equal(ok.status, 101);
});

test('hello, live stages, echo, subprotocol, resize validated', async (t) => {
  const { url, fake } = await start(t);
  const { token, sessionId } = await newSession(url);
  const fresh = new TestClient(url, token);
  await fresh.opened();
  assert.equal(fresh.ws.protocol, 'boxlab.v1', 'the server answers with the version subprotocol only');
  const hello = await fresh.waitMessage('hello');
  assert.equal(hello.resumed, false);
  assert.equal(hello.state, 'creating');
  assert.equal(fresh.order[0], 'T:hello', 'hello comes first');
  await fresh.waitMessage('state', (m) => m.state === 'running');
  const stages = fresh.of('stage').map((m) => m.event.stage);
  assert.deepEqual(stages, STAGES.slice(0, STAGES.indexOf('running') + 1), 'every creation stage, in order, once');
  await fresh.waitText(/\$ $/);
  fresh.type('echo hi\r');
  await fresh.waitText(/echo hi\r\nhi\r\n\$ $/);

  fresh.control({ type: 'resize', rows: 30, cols: 100 });
  fresh.type('stty size\r');
  await fresh.waitText(/30 100\r\n/);
  fresh.control({ type: 'resize', rows: 0, cols: 100 });
  fresh.control({ type: 'resize', rows: 30, cols: 5000 });
  await fresh.until(() => fresh.of('error').length === 2);
  assert.ok(fresh.of('error').every((e) => e.code === 'bad_message'));
  fresh.type('stty size\r');
  await fresh.waitText(/30 100\r\n\$ stty size\r\n30 100\r\n/);
  assert.deepEqual(fresh.invalid, [], 'every server frame matched the protocol schema');
  assert.equal(hello.sessionId, sessionId);
  assert.equal(fake.made.length, 1);
  assert.equal(fake.made[0]?.config.hostname, `box-${sessionId.slice(0, 8)}`);
  fresh.control({ type: 'ping', t: 42 });
  assert.equal((await fresh.waitMessage('pong')).t, 42);
});

test('bad, unknown and oversized messages: errors, 4400 after 10, 1009 when too big; other sessions unaffected', async (t) => {
  const { url, fake } = await start(t);
  const a = await connect(url, (await newSession(url)).token);
  const b = await connect(url, (await newSession(url)).token);
  a.control({ type: 'launch' });
  await a.waitMessage('error', (e) => /unknown message type "launch"/.test(e.message));
  a.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false }); // invalid UTF-8 text frame
  await a.waitMessage('error', (e) => /UTF-8/.test(e.message));
  a.ws.send('{nope');
  a.type('x'.repeat(20 * 1024)); // keystroke frame over 16 KiB
  await a.waitMessage('error', (e) => /exceeds 16384/.test(e.message));
  assert.equal(a.closed, null);
  assert.equal(fake.made[0]?.input.length, 0, 'the oversized keystroke frame never reached the shell');
  for (let i = 0; i < 6; i++) a.control({ type: 'ack', bytes: -1 });
  const closeA = await a.waitClose();
  assert.equal(closeA.code, 4400);
  assert.equal(a.of('error').length, 10);
  b.type('echo still here\r');
  await b.waitText(/still here\r\n/);

  const c = await connect(url, (await newSession(url)).token);
  c.ws.send(Buffer.alloc(70 * 1024, 0x61), { binary: true });
  assert.equal((await c.waitClose()).code, 1009);
  b.type('echo after\r');
  await b.waitText(/after\r\n/);
});

test('capacity: 503 with retryAfterSec and Retry-After, per client and in total', async (t) => {
  const { url } = await start(t, { maxPerClient: 2, maxSessions: 3, graceSec: 60 });
  await newSession(url);
  await newSession(url);
  const r = await http(url, 'POST', '/api/session');
  assert.equal(r.status, 503);
  const body = JSON.parse(r.body);
  assert.equal(body.error, 'full');
  assert.ok(body.retryAfterSec >= 1 && body.retryAfterSec <= 60, `retryAfterSec ${body.retryAfterSec}`);
  assert.equal(r.headers['retry-after'], String(body.retryAfterSec));
  const total = await start(t, { maxPerClient: 3, maxSessions: 2, graceSec: 60 });
  await newSession(total.url);
  await newSession(total.url);
  assert.equal((await http(total.url, 'POST', '/api/session')).status, 503);
});

test('shutdown: every socket closed with 4503, every sandbox destroyed, no timers left', async (t) => {
  const timersBefore = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const { url, srv, fake } = await start(t, { maxPerClient: 10 });
  const clients = await Promise.all([1, 2, 3].map(async () => connect(url, (await newSession(url)).token)));
  clients[0]!.type('yes\r'); // one of them busy flooding
  await clients[0]!.waitText(/y\r\ny\r\n/);
  const idle = await newSession(url); // a session nobody attached to
  assert.ok(idle.token);
  await srv.close();
  for (const c of clients) assert.equal((await c.waitClose()).code, 4503);
  assert.equal(fake.made.length, 3);
  assert.ok(fake.made.every((s) => s.destroyed && s.destroyCalls >= 1));
  assert.equal(srv.manager.size, 0);
  const r = await http(url, 'GET', '/api/health').catch((e: Error) => e);
  assert.ok(r instanceof Error, 'no longer listening');
  await new Promise((r) => setImmediate(r));
  const timersAfter = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  assert.ok(timersAfter <= timersBefore, `timers before ${timersBefore}, after ${timersAfter}`);
  assert.equal(WebSocket.OPEN, 1);
});

test('shutdown while a sandbox is still being built waits for it and destroys it', async (t) => {
  const { url, srv, fake } = await start(t, {}, { fake: { stageDelayMs: 20 } });
  const c = new TestClient(url, (await newSession(url)).token);
  await c.until(() => c.of('stage').length >= 3, 3000, 'first stages');
  assert.equal(
    c.of('state').some((s) => s.state === 'running'),
    false,
  );
  await srv.close();
  assert.equal(fake.made.length, 1);
  assert.equal(fake.made[0]?.destroyed, true, 'the half-built sandbox was destroyed before close() resolved');
  assert.equal((await c.waitClose()).code, 4503);
});

test('a socket offering boxlab.new gets its session at the upgrade: created, hello, running, the prompt; the token reconnects; refused when full', async (t) => {
  const { url, srv } = await start(t, { maxPerClient: 1 });
  const c = new TestClient(url, null, { protocols: ['boxlab.v1', 'boxlab.new'] });
  await c.opened();
  await c.waitMessage('state', (m) => m.state === 'running');
  await c.waitText(/\$ $/);
  const created = c.of('created')[0];
  assert.ok(created, c.order.join(' '));
  assert.equal(c.order[0], 'T:created', 'before hello');
  assert.equal(c.of('hello')[0]!.sessionId, created.sessionId);
  assert.match(created.token, /^[A-Za-z0-9_-]{43}$/);
  assert.deepEqual([created.wsPath, created.bootId, srv.manager.size], ['/ws', srv.manager.bootId, 1]);
  await c.close();
  const again = new TestClient(url, created.token);
  await again.opened();
  const hello = await again.waitMessage('hello');
  assert.deepEqual([hello.sessionId, hello.resumed], [created.sessionId, true]);
  assert.equal(again.of('created').length, 0, 'a token socket creates nothing');
  // Admitted like the POST: this address has its one session, so the upgrade is refused (the POST says why).
  const refused = await rawUpgrade(url, { Origin: url, 'Sec-WebSocket-Protocol': 'boxlab.v1, boxlab.new' });
  assert.equal(refused.status, 503, refused.text);
  assert.equal((await http(url, 'POST', '/api/session', '{}')).status, 503);
  assert.equal(srv.manager.size, 1);
  // Without an Origin it is refused like any cross-site socket.
  assert.equal((await rawUpgrade(url, { 'Sec-WebSocket-Protocol': 'boxlab.v1, boxlab.new' })).status, 403);
  await again.close();
});
