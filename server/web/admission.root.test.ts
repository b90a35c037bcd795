// Admission by host memory with real boxes: limits sized from this host's MemAvailable so only three fit (none is allocated).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { refusedResponse } from '../protocol/messages.ts';
import { memAvailable } from './admission.ts';
import { startServer } from './server.ts';
import { TestClient, http } from './test-client.ts';

const root = process.getuid?.() === 0;
const MiB = 1024 * 1024;

test('the fourth box is refused with host_memory before the promise passes MemAvailable; freeing one admits again', { skip: !root && 'needs root' }, async (t) => {
  const avail = memAvailable(readFileSync('/proc/meminfo', 'utf8'));
  assert.ok(avail, 'this kernel reports MemAvailable');
  // 3 boxes promise 3/3.5 = 86% of MemAvailable, a 4th would promise 114%: a margin of ±14% for the rest of the
  // machine (other tests) to move MemAvailable while this runs. The limit is only written to each box's cgroup.
  const perBoxMiB = Math.floor(avail / 3.5 / MiB);
  const srv = await startServer({
    config: { port: 0, staticDir: '/nonexistent/out', memory: `${perBoxMiB}M`, memoryOvercommit: 1, maxSessions: 10, maxPerClient: 10 },
    log: () => {},
  });
  t.after(() => srv.close());
  const clients: TestClient[] = [];
  t.after(() => Promise.all(clients.map((c) => c.closed ? undefined : c.close())));
  const post = () => http(srv.url, 'POST', '/api/session', '{}');
  for (let i = 0; i < 3; i++) {
    const r = await post();
    assert.equal(r.status, 201, `box ${i + 1} of ${perBoxMiB} MiB (MemAvailable ${Math.round(avail / MiB)} MiB): ${r.body}`);
    const c = new TestClient(srv.url, (JSON.parse(r.body) as { token: string }).token);
    clients.push(c);
    await c.opened();
    await c.waitMessage('state', (m) => m.state === 'running', 15_000);
  }
  // Each box really has the promised limit in its cgroup.
  const stats = await Promise.all(srv.manager.sessions().map((s) => s.session.sandbox!.stats()));
  for (const st of stats) assert.equal(st.memory.limit, perBoxMiB * MiB);
  const refused = await post();
  assert.equal(refused.status, 503, refused.body);
  const body = refusedResponse.parse(JSON.parse(refused.body));
  assert.equal(body.error, 'host_memory');
  assert.ok(body.error === 'host_memory' && body.message.includes(`another ${perBoxMiB} MiB box`) && /Try again in \d+ s/.test(body.message), body.message);
  t.diagnostic(`refusal: ${body.message}`);
  assert.equal(srv.manager.size, 3, 'the earlier sessions live');
  for (const c of clients) assert.equal(c.closed, null, 'and their sockets stay open');
  // Free one: the promise shrinks by a box and the next one is admitted.
  const first = srv.manager.sessions()[0];
  assert.ok(first);
  await srv.manager.destroy(first.session);
  const again = await post();
  assert.equal(again.status, 201, again.body);
  const c = new TestClient(srv.url, (JSON.parse(again.body) as { token: string }).token);
  clients.push(c);
  await c.opened();
  await c.waitMessage('state', (m) => m.state === 'running', 15_000);
  await c.close();
});
