// The generated haproxy.cfg: the lines docs/cluster.md relies on, refused input, and HAProxy's own parser (haproxy -c).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import { test, type TestContext } from 'node:test';
import { fullResponse } from '../../server/protocol/messages.ts';
import { haproxyConfig } from './haproxy-cfg.ts';

// Debian installs it in /usr/sbin, which a non-root PATH lacks (`npm test` without sudo).
const HAPROXY = ['/usr/sbin/haproxy', '/usr/bin/haproxy', '/usr/local/sbin/haproxy'].find((p) => existsSync(p));
const NO_HAPROXY = HAPROXY ? false : 'haproxy is not installed (apt-get install haproxy; .ci/run installs it)';

const nodes = [
  { id: 'n1', host: '10.0.0.2', port: 3000, agentPort: 3001 },
  { id: 'n2', host: 'fd00::3', port: 3000, agentPort: 0, weight: 200 },
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
    'server n2 [fd00::3]:3000 cookie n2 weight 200',
    'use-server n2 if { urlp(node) -m str n2 }',
    'stats socket /run/haproxy-boxlab.sock mode 600 level admin',
    'timeout tunnel 1h',
    'option forwardfor',
    'tcp-request connection reject if { sc0_conn_cur gt 400 } || { sc0_conn_rate gt 1000 }',
    'http-response add-header Set-Cookie "BOXLAB_NODE=%[srv_name]; path=/; HttpOnly; SameSite=Lax" if { var(txn.join) -m bool } { res.hdr(x-boxlab-class) -m found }',
  ])
    assert.ok(cfg.includes(line), line);
  assert.ok(!cfg.includes('secure'), 'no Secure cookie over plain HTTP');
  assert.match(
    haproxyConfig({ nodes, bind: '*:443', checkHost: 'x', crt: '/etc/haproxy/boxlab.pem' }),
    /ssl crt \/etc\/haproxy\/boxlab.pem[\s\S]*httponly secure/,
  );
});

test('refused: no nodes, a bad or repeated id, a bad check host, a weight HAProxy refuses', () => {
  assert.throws(() => haproxyConfig({ nodes: [], bind: '*:80', checkHost: 'x' }), /no nodes/);
  assert.throws(() => haproxyConfig({ nodes: [{ ...nodes[0]!, id: 'a b' }], bind: '*:80', checkHost: 'x' }), /bad node id/);
  assert.throws(() => haproxyConfig({ nodes: [nodes[0]!, nodes[0]!], bind: '*:80', checkHost: 'x' }), /repeat/);
  assert.throws(() => haproxyConfig({ nodes, bind: '*:80', checkHost: 'x\nglobal' }), /check host/);
  for (const weight of [0, 257, 1.5])
    assert.throws(() => haproxyConfig({ nodes: [{ ...nodes[0]!, weight }], bind: '*:80', checkHost: 'x' }), /weight/);
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
    peerPort: 0, // no peers listener: nothing else binds here
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

test('peers: a local peer by default, none with peerPort 0, an HA pair names this balancer among them; bad peers refused', () => {
  const cfg = haproxyConfig({ nodes, bind: '*:80', checkHost: 'x' });
  for (const line of ['localpeer boxlab-lb', 'peers boxlab', 'peer boxlab-lb 127.0.0.1:10000', 'expire 7d peers boxlab'])
    assert.ok(cfg.includes(line), line);
  const none = haproxyConfig({ nodes, bind: '*:80', checkHost: 'x', peerPort: 0 });
  assert.ok(!/peers|localpeer/.test(none), 'no peers section');
  const pair = [
    { name: 'lb1', host: '10.0.0.1', port: 10000 },
    { name: 'lb2', host: 'fd00::2', port: 10000 },
  ];
  assert.match(
    haproxyConfig({ nodes, bind: '*:80', checkHost: 'x', localPeer: 'lb2', peers: pair }),
    /localpeer lb2\n[\s\S]*peer lb1 10\.0\.0\.1:10000\n {2}peer lb2 \[fd00::2\]:10000\n/,
  );
  assert.throws(() => haproxyConfig({ nodes, bind: '*:80', checkHost: 'x', localPeer: 'lb3', peers: pair }), /local peer "lb3"/);
  assert.throws(
    () => haproxyConfig({ nodes, bind: '*:80', checkHost: 'x', peers: [{ name: 'a b', host: '1.2.3.4', port: 1 }] }),
    /bad peer name/,
  );
  assert.throws(
    () => haproxyConfig({ nodes, bind: '*:80', checkHost: 'x', localPeer: 'p', peers: [{ name: 'p', host: '1.2.3.4\n', port: 1 }] }),
    /bad peer address/,
  );
});

/** Asks HAProxy's runtime API one command (the admin socket is re-bound by each new worker). */
function adminAsk(sock: string, cmd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect(sock);
    let out = '';
    c.on('error', reject);
    c.on('data', (d) => (out += d));
    c.on('end', () => resolve(out));
    c.end(`${cmd}\n`);
  });
}

/** Learns a class code through a real HAProxy, reloads it (master-worker, SIGUSR2) and reads the table back. */
async function tableAfterReload(t: TestContext, peerPort: number, ports: [number, number]): Promise<{ before: string; after: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'boxlab-haproxy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // A fake node: healthy, and it names class ABC234 in every answer (as a node does when it creates a class).
  const node = createServer((_req, res) => res.writeHead(200, { 'x-boxlab-class': 'ABC234' }).end('{}'));
  await new Promise<void>((r) => node.listen(ports[0], '127.0.0.1', r));
  t.after(() => node.close());
  const sock = join(dir, 'admin.sock');
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(
    file,
    haproxyConfig({
      nodes: [{ id: 'n1', host: '127.0.0.1', port: ports[0], agentPort: 0 }],
      bind: `127.0.0.1:${ports[1]}`,
      checkHost: '127.0.0.1',
      adminSocket: sock,
      interMs: 100,
      peerPort,
    }),
  );
  const child = spawn(HAPROXY!, ['-W', '-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  t.after(() => child.kill('SIGKILL'));
  const until = async (what: string, ok: () => Promise<boolean>) => {
    for (let i = 0; i < 100; i++) {
      if (await ok().catch(() => false)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out: ${what}; HAProxy's log:\n${log}`);
  };
  await until('a class learnt', async () => {
    await fetch(`http://127.0.0.1:${ports[1]}/api/classes`, { method: 'POST' });
    return /key=ABC234/.test(await adminAsk(sock, 'show table nodes'));
  });
  // HAProxy 2.6 teaches its table to a new process only once its own start-up resync is over (5 s without a peer to
  // learn from: `show peers` says resync_timeout=<PAST>); a reload sooner than that starts empty (docs/cluster.md).
  // The control (no peers) waits as long, so both reloads happen at the same age (and the master is surely settled).
  const settled = async () =>
    peerPort
      ? /resync_timeout=<(PAST|NEVER)>/.test(await adminAsk(sock, 'show peers'))
      : Number(/^Uptime_sec: (\d+)/m.exec(await adminAsk(sock, 'show info'))?.[1]) >= 6;
  await until('the start-up resync over', settled);
  const before = await adminAsk(sock, 'show table nodes');
  const oldPid = (await adminAsk(sock, 'show info')).match(/^Pid: (\d+)/m)?.[1];
  child.kill('SIGUSR2'); // the master starts a new worker, the old one hands its table over (peers) and leaves
  await until('a new worker', async () => {
    const pid = (await adminAsk(sock, 'show info')).match(/^Pid: (\d+)/m)?.[1];
    return !!pid && pid !== oldPid;
  });
  // The push from the old worker takes a moment: wait for it, up to 5 s, then read what the new worker has.
  for (let i = 0; i < 50 && !/key=ABC234/.test(await adminAsk(sock, 'show table nodes')); i++) await new Promise((r) => setTimeout(r, 100));
  return { before, after: await adminAsk(sock, 'show table nodes') };
}

test('a reload keeps the class table with the peers section, and loses it without', { skip: NO_HAPROXY }, async (t) => {
  const [kept, lost] = await Promise.all([tableAfterReload(t, 46012, [46010, 46011]), tableAfterReload(t, 0, [46013, 46014])]);
  assert.match(kept.before, /key=ABC234 .*server_id=1/);
  assert.match(kept.after, /key=ABC234 .*server_id=1/, `the table after the reload:\n${kept.after}`);
  assert.match(lost.before, /key=ABC234/);
  assert.doesNotMatch(lost.after, /key=ABC234/, 'without peers the new worker starts empty (the control)');
});

test("behind the generated HAProxy a node that trusts it counts the visitor's address, never a forged X-Forwarded-For", {
  skip: NO_HAPROXY,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'boxlab-haproxy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { listenHttp } = await import('../../server/web/http.ts');
  const { FAIRNESS } = await import('../../server/web/config.ts');
  const { clientAddress, sendJson } = await import('../../server/sessions/routes.ts');
  const front = await listenHttp({
    host: '127.0.0.1',
    port: 46030,
    allowedHosts: ['127.0.0.1'],
    trustedProxies: ['127.0.0.1'],
    fairness: FAIRNESS,
    tls: null,
    routes: [async (req, res) => (sendJson(res, 200, { client: clientAddress(req) ?? null }), true)],
    upgrades: [],
    serveStatic: async () => {},
    log: () => {},
  });
  t.after(() => front.http.close());
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(
    file,
    haproxyConfig({
      nodes: [{ id: 'n1', host: '127.0.0.1', port: 46030, agentPort: 0 }],
      bind: '127.0.0.1:46031',
      checkHost: '127.0.0.1',
      interMs: 100,
      peerPort: 0,
    }),
  );
  const child = spawn(HAPROXY!, ['-db', '-f', file], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  // The visitor on 127.0.0.2 (HAProxy itself connects from 127.0.0.1, the only trusted address) forges a header.
  const ask = () =>
    new Promise<{ status: number; client?: string }>((resolve) => {
      request(
        {
          host: '127.0.0.1',
          port: 46031,
          localAddress: '127.0.0.2',
          path: '/api/who',
          headers: { host: '127.0.0.1', 'x-forwarded-for': '6.6.6.6' },
        },
        (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, client: res.statusCode === 200 ? JSON.parse(body).client : undefined }),
          );
        },
      )
        .on('error', () => resolve({ status: 0 }))
        .end();
    });
  let got = await ask();
  for (let i = 0; i < 100 && got.status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 100));
    got = await ask();
  }
  assert.equal(got.client, '127.0.0.2');
});
