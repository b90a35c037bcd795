// The generated haproxy.cfg: the lines docs/cluster.md relies on, refused input, and HAProxy's own parser (haproxy -c).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fullResponse } from '../../server/protocol/messages.ts';
import { haproxyConfig } from './haproxy-cfg.ts';

// Debian installs it in /usr/sbin, which a non-root PATH lacks (`npm test` without sudo).
const HAPROXY = ['/usr/sbin/haproxy', '/usr/bin/haproxy', '/usr/local/sbin/haproxy'].find((p) => existsSync(p));
const NO_HAPROXY = HAPROXY ? false : 'haproxy is not installed (apt-get install haproxy; .ci/run installs it)';

const nodes = [
  { id: 'n1', host: '10.0.0.2', port: 3000, agentPort: 3001 },
  { id: 'n2', host: 'fd00::3', port: 3000, agentPort: 0 },
];

test('the config: leastconn, cookie per node, agent-check where a port is given, class stick table, L7 retry of new sessions only', () => {
  const cfg = haproxyConfig({ nodes, bind: '*:80', checkHost: 'boxlab.example', adminSocket: '/run/haproxy-boxlab.sock' });
  for (const line of [
    'balance leastconn',
    'cookie BOXLAB_NODE insert indirect nocache httponly attr "SameSite=Lax"',
    'option persist',
    'option redispatch 1',
    'retry-on conn-failure empty-response 503',
    'http-request disable-l7-retry unless { method POST } { path /api/session }',
    'stick store-response res.hdr(x-boxlab-class)',
    'http-check send meth GET uri /api/health ver HTTP/1.1 hdr Host boxlab.example',
    'http-check expect status 200',
    'server n1 10.0.0.2:3000 cookie n1 agent-check agent-port 3001 agent-inter 1000',
    'server n2 [fd00::3]:3000 cookie n2',
    'use-server n2 if { urlp(node) -m str n2 }',
    'stats socket /run/haproxy-boxlab.sock mode 600 level admin',
    'timeout tunnel 1h',
    'http-response add-header Set-Cookie "BOXLAB_NODE=%[srv_name]; path=/; HttpOnly; SameSite=Lax" if { var(txn.join) -m bool } { res.hdr(x-boxlab-class) -m found }',
  ])
    assert.ok(cfg.includes(line), line);
  assert.ok(!cfg.includes('secure'), 'no Secure cookie over plain HTTP');
  assert.match(
    haproxyConfig({ nodes, bind: '*:443', checkHost: 'x', crt: '/etc/haproxy/boxlab.pem' }),
    /ssl crt \/etc\/haproxy\/boxlab.pem[\s\S]*httponly secure/,
  );
});

test('refused: no nodes, a bad or repeated id, a bad check host', () => {
  assert.throws(() => haproxyConfig({ nodes: [], bind: '*:80', checkHost: 'x' }), /no nodes/);
  assert.throws(() => haproxyConfig({ nodes: [{ ...nodes[0]!, id: 'a b' }], bind: '*:80', checkHost: 'x' }), /bad node id/);
  assert.throws(() => haproxyConfig({ nodes: [nodes[0]!, nodes[0]!], bind: '*:80', checkHost: 'x' }), /repeat/);
  assert.throws(() => haproxyConfig({ nodes, bind: '*:80', checkHost: 'x\nglobal' }), /check host/);
});

test('HAProxy itself accepts the config (haproxy -c)', { skip: NO_HAPROXY }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'boxlab-haproxy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, haproxyConfig({ nodes, bind: '127.0.0.1:47999', checkHost: 'boxlab.example', adminSocket: join(dir, 'admin.sock') }));
  const out = execFileSync(HAPROXY!, ['-c', '-f', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  assert.match(out, /Configuration file is valid/);
});

test("no node available: HAProxy's own 503 is a node's refusal (JSON the page reads), not an HTML page", {
  skip: NO_HAPROXY,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'boxlab-haproxy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'haproxy.cfg');
  // One node on a loopback port nothing listens on: down after its first checks.
  const cfg = haproxyConfig({
    nodes: [{ id: 'gone', host: '127.0.0.1', port: 47998, agentPort: 0 }],
    bind: '127.0.0.1:47997',
    checkHost: '127.0.0.1',
    interMs: 100,
  });
  writeFileSync(file, cfg);
  const child = spawn(HAPROXY!, ['-db', '-f', file], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  let res: Response | null = null;
  for (let i = 0; i < 100 && res?.status !== 503; i++) {
    await new Promise((r) => setTimeout(r, 100));
    res = await fetch('http://127.0.0.1:47997/api/session', { method: 'POST' }).catch(() => null);
  }
  assert.equal(res?.status, 503);
  assert.equal(res.headers.get('retry-after'), '10');
  const body = fullResponse.parse(await res.json());
  assert.equal(body.reason, 'server_full');
});
