// The warm pool: a session gets a ready box (its own hostname, stages and prompt intact), boxes are never shared,
// pool boxes count against max-sessions, a session with other settings makes its own box, shutdown destroys them all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STAGES } from '../engine/types.ts';
import { REFILL_AFTER_MS } from '../sessions/pool.ts';
import { TestClient, http, newSession, start } from '../root/testing/test-client.ts';

const until = async (cond: () => boolean, what: string, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};
async function connect(url: string, token: string): Promise<TestClient> {
  const c = new TestClient(url, token);
  await c.opened();
  return c;
}

test('a session takes the ready box: its id, every stage, the prompt; the pool makes a replacement', async (t) => {
  const { url, srv, fake } = await start(t, { warmPool: 1, maxPerClient: 5 });
  await until(() => srv.manager.pool?.readyCount === 1, 'a ready pool box');
  const pooled = fake.made[0]!;
  const taken = Date.now();
  const { sessionId, token } = await newSession(url);
  assert.equal(pooled.config.hostname, `box-${sessionId.slice(0, 8)}`, 'the session got the id the box was made for');
  const c = await connect(url, token);
  await c.waitMessage('state', (m) => m.state === 'running');
  assert.deepEqual(
    c.of('stage').map((m) => m.event.stage),
    STAGES.slice(0, STAGES.indexOf('running') + 1),
    'every creation stage, once',
  );
  await c.waitText(/\$ $/);
  // After hello (state creating), no second `creating`; the pooled box's stages in one message, `running`, the prompt:
  // a browser handles each WebSocket message as a task of its own, and may render between them.
  const order = c.order.filter((o) => o === 'T:hello' || o === 'T:state' || o.startsWith('T:stage') || o.startsWith('B:'));
  assert.deepEqual(order.slice(0, 3), ['T:hello', 'T:stages', 'T:state'], order.join(' '));
  assert.match(order[3] ?? '', /^B:/, `the prompt right after running: ${order.join(' ')}`);
  c.control({ type: 'resize', rows: 30, cols: 100 });
  c.type('stty size\r');
  await c.waitText(/30 100\r\n/);
  await until(() => fake.made.length === 2, 'a replacement being made');
  // Not at once: the replacement waits REFILL_AFTER_MS, so it does not compete with the taker's socket and replay.
  assert.ok(Date.now() - taken >= REFILL_AFTER_MS, `replacement started ${Date.now() - taken} ms after the take`);
  await until(() => srv.manager.pool?.readyCount === 1, 'a replacement');
  assert.equal(srv.manager.pool?.counts.taken, 1);
  // a second session gets the replacement, not the first box
  const second = await newSession(url);
  const c2 = await connect(url, second.token);
  await c2.waitText(/\$ $/);
  assert.equal(fake.made[1]!.config.hostname, `box-${second.sessionId.slice(0, 8)}`);
  c2.type('echo two\r');
  await c2.waitText(/two\r\n/);
  assert.doesNotMatch(c.text(), /two/, 'boxes are never shared');
});

test('sessions + pool boxes never exceed max-sessions; a freed slot refills the pool', async (t) => {
  const { url, srv, fake } = await start(t, { warmPool: 2, maxSessions: 2, maxPerClient: 5 });
  await until(() => srv.manager.pool?.readyCount === 2, 'two ready boxes');
  const a = await newSession(url);
  const ca = await connect(url, a.token);
  await ca.waitText(/\$ $/);
  const b = await newSession(url);
  const cb = await connect(url, b.token);
  await cb.waitText(/\$ $/);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(fake.live().length, 2, 'two sessions, no pool box beside them');
  assert.equal(srv.manager.pool?.count, 0);
  await srv.manager.destroy(srv.manager.get(a.sessionId)!);
  await until(() => srv.manager.pool?.readyCount === 1, 'the freed slot back in the pool');
  assert.equal(fake.live().length, 2);
});

test('a session whose settings differ from the defaults does not use the pooled box (it is destroyed, not reused)', async (t) => {
  const { url, srv, fake } = await start(t, { warmPool: 1, maxPerClient: 5 });
  await until(() => srv.manager.pool?.readyCount === 1, 'a ready pool box');
  const pooled = fake.made[0]!;
  const { token } = await newSession(url);
  (pooled.config as { memoryBytes: number }).memoryBytes = 64 * 1024 * 1024; // as if a lesson had lowered the limit for this session
  const c = await connect(url, token);
  await c.waitText(/\$ $/);
  assert.ok(pooled.destroyed, 'the pooled box was discarded');
  assert.ok(
    fake.made.some((s) => s !== pooled && !s.destroyed && s.config.memoryBytes !== 64 * 1024 * 1024),
    'the session made its own box',
  );
});

test("shutdown destroys ready pool boxes and an unattached session's pooled box", async (t) => {
  const { url, srv, fake } = await start(t, { warmPool: 1, maxPerClient: 5 });
  await until(() => srv.manager.pool?.readyCount === 1, 'a ready pool box');
  await newSession(url); // takes the box, never attaches
  await until(() => srv.manager.pool?.readyCount === 1, 'a replacement');
  await srv.close();
  assert.ok(fake.made.length >= 2);
  assert.ok(
    fake.made.every((s) => s.destroyed),
    'every box destroyed',
  );
});

test('host memory: pool boxes are promised their limit like any box, and never cost a person a refusal', async (t) => {
  const MiB = 1024 * 1024;
  const meminfo = (availMiB: number) => `MemTotal: 24576000 kB\nMemAvailable: ${availMiB * 1024} kB\n`;
  // 1000 MiB backs three 256 MiB boxes: with two sessions the pool box is the third; no fourth is made.
  const { url, srv, fake } = await start(
    t,
    { warmPool: 2, memoryBytes: 256 * MiB, memoryOvercommit: 1, maxSessions: 10, maxPerClient: 10 },
    { readMeminfo: () => meminfo(1000) },
  );
  await until(() => srv.manager.pool?.readyCount === 2, 'two ready boxes (512 of 1000 MiB)');
  assert.equal(srv.manager.promisedBytes(), 512 * MiB, 'ready pool boxes are promised memory');
  const a = await newSession(url);
  const b = await newSession(url);
  await until(() => srv.manager.pool?.count === 1 && srv.manager.pool.readyCount === 1, 'the pool refilled to what memory allows');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(srv.manager.pool?.count, 1, 'a fourth box would pass the 1000 MiB');
  assert.equal(srv.manager.promisedBytes(), 768 * MiB);
  // The third person takes the pooled box; a fourth is refused (host_memory) and the pool makes nothing more.
  const c = await newSession(url);
  assert.ok(a.token && b.token && c.token);
  const r = await http(url, 'POST', '/api/session', '{}');
  assert.equal(r.status, 503);
  assert.equal(JSON.parse(r.body).error, 'host_memory');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(srv.manager.pool?.count, 0);
  assert.equal(fake.live().length, 3, 'three boxes: one per session, none pooled');
});

test('a person who cannot take the pooled box (own limits, a class member) gets its memory and its slot: the ready box goes', async (t) => {
  const MiB = 1024 * 1024;
  const meminfo = `MemTotal: 24576000 kB\nMemAvailable: ${600 * 1024} kB\n`;
  // 600 MiB backs two 256 MiB boxes: one session and the ready pool box fill it.
  const { url, srv, fake } = await start(
    t,
    { warmPool: 1, memoryBytes: 256 * MiB, memoryOvercommit: 1, maxSessions: 10, maxPerClient: 10 },
    { readMeminfo: () => meminfo },
  );
  await until(() => srv.manager.pool?.readyCount === 1, 'a ready pool box');
  await newSession(url);
  await until(() => srv.manager.pool?.readyCount === 1, 'the replacement, ready');
  assert.equal(srv.manager.promisedBytes(), 512 * MiB);
  const member = srv.manager.create('10.0.0.7', undefined, { perClient: false, limits: {} });
  assert.ok(member.ok, `admitted: ${JSON.stringify(member.ok ? '' : member)}`);
  assert.equal(srv.manager.pool?.count, 0, 'the ready pool box was given back');
  await until(() => fake.made.filter((b) => b.destroyed).length === 1, 'the pool box destroyed');
  assert.equal(srv.manager.promisedBytes(), 512 * MiB, 'two boxes promised: the two sessions');
});

test('sessions + pool boxes stay within max-sessions when a session cannot take the pooled box', async (t) => {
  const { url, srv, fake } = await start(t, { warmPool: 1, maxSessions: 2, maxPerClient: 5 });
  await until(() => srv.manager.pool?.readyCount === 1, 'a ready pool box');
  await newSession(url);
  await until(() => srv.manager.pool?.readyCount === 1, 'the replacement, ready');
  assert.ok(srv.manager.create('10.0.0.7', undefined, { perClient: false, limits: {} }).ok);
  assert.equal(srv.manager.size + (srv.manager.pool?.count ?? 0), 2);
  await until(() => fake.live().length <= 2, 'at most two boxes');
});

test('a pooled shell that ends between the POST and the attach is reported as exited, not left running', async (t) => {
  const { url, srv, fake } = await start(t, { warmPool: 1, maxPerClient: 5 });
  await until(() => srv.manager.pool?.readyCount === 1, 'a ready pool box');
  const pooled = fake.made[0]!;
  const { token } = await newSession(url); // the session holds the box from here
  let ended = false;
  pooled.on('exit', () => (ended = true));
  pooled.write('exit\r');
  await until(() => ended, 'the pooled shell to exit');
  const c = await connect(url, token);
  await c.waitMessage('exit');
  await c.waitMessage('state', (m) => m.state === 'exited');
});
