// Session lifecycle over loopback with FakeSandbox: reconnect + snapshot, replace, grace, idle, lifetime, reset, restart, errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Mirror } from './mirror.ts';
import { fakeFactory } from '../engine/testing/fake-sandbox.ts';
import { TestClient, newSession, rawUpgrade, start } from '../root/testing/test-client.ts';

const ready = async (c: TestClient): Promise<TestClient> => {
  await c.opened();
  await c.until(() => c.of('hello')[0]?.state === 'running' || c.of('state').some((m) => m.state === 'running'), 3000, 'running');
  await c.waitText(/\$ $/);
  return c;
};

test('reconnect within grace: hello(resumed), all stages, snapshot before output, nothing lost or duplicated', async (t) => {
  const { url, fake } = await start(t, { graceSec: 30 }, { fake: { chunkSize: 2048, paceMs: 2 } });
  const { token } = await newSession(url);
  const a = await ready(new TestClient(url, token));
  a.control({ type: 'resize', rows: 20, cols: 60 });
  a.type('echo before\r');
  await a.waitText(/before\r\n\$ $/);
  a.autoAck = 32 * 1024;
  a.type('seq 30000\r'); // ~180 KB of numbered lines, still streaming when the socket drops
  await a.until(() => a.received > 20_000);
  await a.close();
  const b = new TestClient(url, token);
  b.autoAck = 32 * 1024;
  await b.opened();
  await b.waitText(/30000\r\n\$ $/, 5000);
  const hello = b.of('hello')[0]!;
  assert.equal(hello.resumed, true);
  assert.equal(hello.state, 'running');
  const firstBinary = b.order.findIndex((o) => o.startsWith('B:'));
  const snapAt = b.order.indexOf('T:snapshot');
  assert.ok(snapAt >= 0 && snapAt < firstBinary, `snapshot first: ${b.order.slice(0, 30).join(' ')}`);
  assert.equal(b.of('stage').length, 23, 'every creation stage (prepare_state..running) replayed');
  const snap = b.of('snapshot')[0]!;
  assert.deepEqual([snap.rows, snap.cols], [20, 60]);
  // The browser's view: snapshot then live bytes, into a terminal as tall as the server's scrollback.
  const view = new Mirror({ rows: 20, cols: 60, scrollback: 100_000 });
  t.after(() => view.dispose());
  view.write(Buffer.from(snap.data));
  for (const f of b.binary) view.write(f);
  await view.snapshot();
  assert.match(snap.data, /\n\d+\r?\n/, 'the snapshot holds lines printed before the reconnect');
  assert.match(b.text(), /^\d+\r$/m, 'and the live stream after it still carried numbered lines');
  const nums = view
    .text()
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^\d+$/.test(l))
    .map(Number);
  assert.equal(nums.at(-1), 30000);
  for (let i = 1; i < nums.length; i++) assert.equal(nums[i], nums[i - 1]! + 1, `line after ${nums[i - 1]} is ${nums[i]}`);
  assert.ok(nums.length > 1000, `${nums.length} contiguous lines (screen + scrollback)`);
  assert.equal(fake.made.length, 1, 'same sandbox');
  b.type('echo again\r');
  await b.waitText(/again\r\n/);
});

test('a second socket for the same session replaces the first (4001)', async (t) => {
  const { url } = await start(t);
  const { token } = await newSession(url);
  const a = await ready(new TestClient(url, token));
  const b = new TestClient(url, token);
  await b.opened();
  const closed = await a.waitClose();
  assert.deepEqual(closed, { code: 4001, reason: 'replaced' });
  const snap = await b.waitMessage('snapshot');
  assert.match(snap.data, /\$ /);
  b.type('echo b\r');
  await b.waitText(/\r\nb\r\n/);
  assert.doesNotMatch(a.text(), /\r\nb\r\n/, 'the replaced socket got nothing more');
});

test('grace expiry destroys the sandbox and invalidates the token', async (t) => {
  const { url, fake, srv } = await start(t, { graceSec: 0.3 });
  const { token } = await newSession(url);
  const a = await ready(new TestClient(url, token));
  await a.close();
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(fake.made[0]?.destroyed, false, 'still inside the grace period');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(fake.made[0]?.destroyed, true);
  assert.equal(srv.manager.size, 0);
  const r = await rawUpgrade(url, { Origin: url, 'Sec-WebSocket-Protocol': `boxlab.v1, boxlab.token.${token}` });
  assert.equal(r.status, 401);
  // A session nobody ever attached to is also freed after the grace period.
  await newSession(url);
  assert.equal(srv.manager.size, 1);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(srv.manager.size, 0);
});

test('idle timeout: keystrokes keep it alive, silence closes with 4408 and destroys', async (t) => {
  const { url, fake } = await start(t, { idleSec: 0.4 });
  const a = await ready(new TestClient(url, (await newSession(url)).token));
  for (let i = 0; i < 4; i++) {
    await new Promise((r) => setTimeout(r, 200));
    a.type('x');
  }
  assert.equal(a.closed, null, 'typing every 200 ms kept it alive past 0.4 s');
  const closed = await a.waitClose(2000);
  assert.equal(closed.code, 4408);
  assert.equal(closed.reason, 'idle timeout');
  assert.equal(a.of('error').at(-1)?.code, 'expired');
  assert.equal(fake.made[0]?.destroyed, true);
});

test('lifetime: the session ends when it is reached even while active', async (t) => {
  const { url, fake } = await start(t, { lifetimeSec: 0.5 });
  const a = await ready(new TestClient(url, (await newSession(url)).token));
  const timer = setInterval(() => a.type('x'), 50);
  t.after(() => clearInterval(timer));
  const closed = await a.waitClose(2000);
  assert.deepEqual(closed, { code: 4408, reason: 'session lifetime reached' });
  assert.equal(fake.made[0]?.destroyed, true);
});

test('reset: old sandbox destroyed, fresh one in place, screen cleared; restart after exit', async (t) => {
  const { url, fake } = await start(t);
  const a = await ready(new TestClient(url, (await newSession(url)).token));
  a.control({ type: 'restart' });
  await a.waitMessage('error', (e) => e.code === 'bad_state');
  a.control({ type: 'reset' });
  await a.until(() => a.of('state').filter((s) => s.state === 'running').length === 2);
  await a.waitText(/\x1bc\$ $/);
  assert.equal(fake.made.length, 2);
  assert.equal(fake.made[0]?.destroyed, true);
  assert.equal(fake.made[1]?.destroyed, false);
  assert.equal(a.of('stage').filter((s) => s.event.stage === 'prepare_state').length, 2);
  a.type('exit 3\r');
  const exit = await a.waitMessage('exit');
  assert.deepEqual([exit.code, exit.signal, exit.status], [3, null, 3]);
  await a.waitMessage('state', (s) => s.state === 'exited');
  await a.until(() => fake.made[1]?.destroyed === true, 2000, 'exited sandbox released');
  a.type('ignored\r');
  a.control({ type: 'restart' });
  await a.until(() => a.of('state').filter((s) => s.state === 'running').length === 3);
  assert.equal(fake.made.length, 3);
  a.type('echo back\r');
  await a.waitText(/back\r\n/);
  assert.equal(fake.made[1]?.input.length, 1, 'keystrokes after exit were not written to the dead sandbox');
});

test('creation failure: state error with the engine message, then restart works', async (t) => {
  let fail = true;
  const fake = fakeFactory();
  const { url } = await start(t, {}, { createSandbox: (cfg, o) => fake.create(fail ? { ...cfg, failAt: 'pivot_root' } : cfg, o) });
  const a = new TestClient(url, (await newSession(url)).token);
  await a.waitMessage('state', (s) => s.state === 'error');
  const err = a.of('error').at(-1)!;
  assert.equal(err.code, 'create_failed');
  assert.match(err.message, /pivot_root: mount\(\/fake\) failed: EPERM/);
  const failed = a.of('stage').filter((s) => !s.event.ok);
  assert.deepEqual(
    failed.map((s) => s.event.stage),
    ['pivot_root'],
  );
  assert.equal(a.of('stage').at(-1)!.event.stage, 'cleanup_done', 'the cleanup after the failure is shown too');
  assert.equal(fake.made[0]?.destroyed, true);
  fail = false;
  a.control({ type: 'restart' });
  await a.waitMessage('state', (s) => s.state === 'running');
  assert.equal(fake.live().length, 1);
});

test('stats are pushed at most once per second while attached', async (t) => {
  const { url } = await start(t, {}, { statsIntervalMs: 1000 });
  const a = await ready(new TestClient(url, (await newSession(url)).token));
  const t0 = Date.now();
  await a.waitMessage('stats', () => true, 2500);
  await new Promise((r) => setTimeout(r, 1200));
  const n = a.of('stats').length;
  const elapsed = (Date.now() - t0) / 1000;
  assert.ok(n >= 1 && n <= Math.ceil(elapsed), `${n} stats in ${elapsed.toFixed(2)} s`);
  assert.equal(a.of('stats')[0]?.stats.pids.max, 128);
});
