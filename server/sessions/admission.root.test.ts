// Admission by host memory with real boxes: limits sized from this host's MemAvailable so only a few fit (none is allocated).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { refusedResponse } from '../protocol/messages.ts';
import { memAvailable } from './admission.ts';
import { startServer } from '../root/compose.ts';
import { TestClient, http } from '../root/testing/test-client.ts';

const root = process.getuid?.() === 0;
const MiB = 1024 * 1024;

test('boxes are admitted until the next would pass MemAvailable, then refused with host_memory; freeing one admits again', {
  skip: !root && 'needs root',
}, async (t) => {
  const avail = memAvailable(readFileSync('/proc/meminfo', 'utf8'));
  assert.ok(avail, 'this kernel reports MemAvailable');
  // About three boxes fit; the limit is only written to each box's cgroup, never allocated. The server reads the real
  // /proc/meminfo; the test records what it read, so the verdicts are checked against the figure the server used
  // (the rest of the machine moves MemAvailable meanwhile).
  const perBoxMiB = Math.floor(avail / 3.5 / MiB);
  let seen = 0;
  const readMeminfo = () => {
    const text = readFileSync('/proc/meminfo', 'utf8');
    seen = memAvailable(text) ?? 0;
    return text;
  };
  const srv = await startServer({
    config: {
      port: 0,
      staticDir: '/nonexistent/out',
      memoryBytes: perBoxMiB * MiB,
      memoryOvercommit: 1,
      maxSessions: 10,
      maxPerClient: 10,
    },
    readMeminfo,
    log: () => {},
  });
  t.after(() => srv.close());
  const clients: TestClient[] = [];
  t.after(() => Promise.all(clients.map((c) => (c.closed ? undefined : c.close()))));
  const post = () => http(srv.url, 'POST', '/api/session', '{}');
  const limit = perBoxMiB * MiB;
  let refused: Awaited<ReturnType<typeof post>> | null = null;
  for (let k = 1; k <= 6 && !refused; k++) {
    const r = await post();
    const charged = srv.manager.chargedBytes();
    if (r.status === 503) {
      refused = r;
      assert.ok(k * limit > seen + charged, `box ${k} refused: ${k} x ${perBoxMiB} MiB > MemAvailable ${seen} + ${charged} charged`);
      break;
    }
    assert.equal(r.status, 201, r.body);
    assert.ok(k * limit <= seen + charged, `box ${k} admitted: ${k} x ${perBoxMiB} MiB <= MemAvailable ${seen} + ${charged}`);
    const c = new TestClient(srv.url, (JSON.parse(r.body) as { token: string }).token);
    clients.push(c);
    await c.opened();
    await c.waitMessage('state', (m) => m.state === 'running', 15_000);
  }
  assert.ok(refused, 'refused within six boxes');
  const admitted = clients.length;
  assert.ok(
    admitted >= 2,
    `${admitted} boxes of ${perBoxMiB} MiB were admitted (MemAvailable ${Math.round(avail / MiB)} MiB at the start)`,
  );
  t.diagnostic(
    `${admitted} boxes of ${perBoxMiB} MiB admitted, the next refused (MemAvailable ${Math.round(seen / MiB)} MiB, ${srv.manager.chargedBytes()} B charged to boxes at the refusal)`,
  );
  // Each box really has the promised limit in its cgroup.
  for (const info of srv.manager.sessions()) assert.equal((await info.session.sandbox!.stats()).memory.limit, limit);
  const body = refusedResponse.parse(JSON.parse(refused.body));
  assert.equal(body.error, 'host_memory');
  assert.ok(
    body.error === 'host_memory' && body.message.includes(`another ${perBoxMiB} MiB box`) && /Try again in \d+ s/.test(body.message),
    body.message,
  );
  assert.equal(refused.headers['retry-after'], String(body.retryAfterSec));
  t.diagnostic(`refusal: ${body.message}`);
  assert.equal(srv.manager.size, admitted, 'the earlier sessions live');
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
