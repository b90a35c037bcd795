// Node state, drain and the agent-check line (no root, fakes), and /api/health's status through a real server with fake boxes.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { http, newSession, start } from '../root/testing/test-client.ts';
import { listenAgent } from './agent.ts';
import { ClusterNode, defaultNodeId, fileDrain, memoryDrain as memDrain } from './node.ts';

test('state: ready below capacity, full at it, draining over both; the manager stops admitting while draining', () => {
  const load = { size: 0, capacity: 4, draining: false };
  const drain = memDrain();
  const node = new ClusterNode('n1', load, drain);
  assert.equal(node.state(), 'ready');
  assert.equal(node.healthStatus(), 200);
  load.size = 4;
  assert.equal(node.state(), 'full');
  assert.equal(node.healthStatus(), 503);
  load.size = 1;
  node.setDraining(true);
  assert.equal(load.draining, true, 'the manager is told');
  assert.equal(node.state(), 'draining');
  assert.equal(node.healthStatus(), 503);
  drain.on = false; // the operator removed the file
  node.refresh();
  assert.equal(node.state(), 'ready');
  assert.equal(load.draining, false);
});

test('agent line: the configured weight while there is room, 0% while full, drain while draining', () => {
  const load = { size: 0, capacity: 3, draining: false };
  const drain = memDrain();
  const node = new ClusterNode('n1', load, drain);
  assert.equal(node.agentReply(), 'up ready 100%\n');
  load.size = 2;
  assert.equal(node.agentReply(), 'up ready 100%\n', 'one free slot: still a full share (leastconn counts the rest)');
  load.size = 3;
  assert.equal(node.agentReply(), 'up ready 0%\n', 'full: weight 0, persistence still honoured');
  load.size = 4;
  assert.equal(node.agentReply(), 'up ready 0%\n', 'over capacity (capacity lowered at run time): still 0%');
  drain.on = true; // the agent reads the switch itself: `touch` of the file is seen at the next check
  load.size = 0;
  assert.equal(node.agentReply(), 'up drain 0%\n');
  const zero = new ClusterNode('z', { size: 0, capacity: 0, draining: false }, memDrain());
  assert.equal(zero.agentReply(), 'up ready 0%\n', 'capacity 0: never a new visitor');
});

test('defaultNodeId: the first label of the host name, cut to the grammar', () => {
  assert.equal(defaultNodeId('web-3.example.org'), 'web-3');
  assert.equal(defaultNodeId('__x y'), 'x-y');
  assert.equal(defaultNodeId(''), 'node');
  assert.equal(defaultNodeId('a'.repeat(80)).length, 63);
});

test('fileDrain: present = draining; set(true) makes it, set(false) removes it', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'boxlab-drain-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'run', 'drain');
  const d = fileDrain(path);
  assert.equal(d.isOn(), false);
  d.set(true);
  assert.equal(existsSync(path), true);
  assert.equal(d.isOn(), true);
  d.set(false);
  assert.equal(d.isOn(), false);
  d.set(false); // twice is fine
});

function readAgent(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const s = connect(port, '127.0.0.1');
    s.setEncoding('utf8');
    s.on('data', (c) => (text += c));
    s.on('end', () => resolve(text));
    s.on('error', reject);
  });
}

test('agent port: one line per connection, then closed', async (t) => {
  const load = { size: 1, capacity: 2, draining: false };
  const drain = memDrain();
  const agent = await listenAgent(new ClusterNode('n1', load, drain), '127.0.0.1', 0);
  t.after(() => agent.close());
  assert.equal(await readAgent(agent.port), 'up ready 100%\n');
  load.size = 2;
  assert.equal(await readAgent(agent.port), 'up ready 0%\n');
  drain.on = true;
  assert.equal(await readAgent(agent.port), 'up drain 0%\n');
});

test('/api/health: node id and state, 200 ready, 503 full and draining (same JSON body); a drained server makes no session', async (t) => {
  const drain = memDrain();
  const { srv, url } = await start(t, { maxSessions: 2, maxPerClient: 2, nodeId: 'alpha', agentPort: 0 }, { drain });
  let h = await http(url, 'GET', '/api/health');
  assert.equal(h.status, 200);
  assert.deepEqual(
    { node: JSON.parse(h.body).node, state: JSON.parse(h.body).state, ok: JSON.parse(h.body).ok },
    { node: 'alpha', state: 'ready', ok: true },
  );
  assert.equal(srv.agentPort, null, 'agent off by default');
  await newSession(url);
  await newSession(url);
  h = await http(url, 'GET', '/api/health');
  assert.equal(h.status, 503);
  assert.equal(JSON.parse(h.body).state, 'full');
  assert.equal(JSON.parse(h.body).bootId, srv.manager.bootId, 'the body still tells the client the server is up');
  await srv.manager.destroyAll();
});

test('/api/health and POST /api/session while draining: 503, refused as closing with a short retry; undrained: served again', async (t) => {
  const drain = memDrain();
  const { srv, url } = await start(t, { maxSessions: 4, maxPerClient: 4, nodeId: 'beta', agentPort: 0 }, { drain });
  const live = await newSession(url);
  srv.node.setDraining(true);
  const h = await http(url, 'GET', '/api/health');
  assert.equal(h.status, 503);
  assert.equal(JSON.parse(h.body).state, 'draining');
  const r = await http(url, 'POST', '/api/session', '');
  assert.equal(r.status, 503);
  const body = JSON.parse(r.body);
  assert.equal(body.error, 'full');
  assert.equal(body.reason, 'closing');
  assert.ok(body.retryAfterSec <= 5, `retry after ${body.retryAfterSec}`);
  assert.equal(srv.manager.size, 1, 'the live session is kept');
  assert.ok(srv.manager.sessions().some((s) => s.session.id === live.sessionId));
  drain.on = false;
  srv.node.refresh();
  assert.equal((await http(url, 'POST', '/api/session', '')).status, 201);
});

test('an agent port already taken: the server does not start, and says which port', async (t) => {
  const { createServer } = await import('node:net');
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
  t.after(() => taken.close());
  const port = (taken.address() as { port: number }).port;
  await assert.rejects(start(t, { nodeId: 'gamma', agentPort: port, host: '127.0.0.1' }), new RegExp(`agent-check port 127.0.0.1:${port}`));
});

test('the agent port through a real server: ready with its weight, then drain', async (t) => {
  const drain = memDrain();
  const { srv } = await start(t, { nodeId: 'delta', agentPort: 47990, host: '127.0.0.1', maxSessions: 4 }, { drain });
  assert.equal(srv.agentPort, 47990);
  assert.equal(await readAgent(47990), 'up ready 100%\n');
  srv.node.setDraining(true);
  assert.equal(await readAgent(47990), 'up drain 0%\n');
});
