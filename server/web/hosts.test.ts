// Host allowlist: Host header parsing, the names a bound address serves, BOXLAB_ALLOWED_HOSTS, and 421 from a real
// server (HTTP and upgrade) for a DNS-rebinding page's Host, while Origin mismatches stay 403.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { HostAllowlist, parseHost } from './hosts.ts';
import { newSession, rawUpgrade, start } from '../root/testing/test-client.ts';

test('parseHost: canonical names and addresses; malformed values refused', () => {
  assert.deepEqual(parseHost('LocalHost:3000'), { host: 'localhost', port: 3000 });
  assert.deepEqual(parseHost('[::1]:8080'), { host: '[::1]', port: 8080 });
  assert.deepEqual(parseHost('[0:0:0:0:0:0:0:1]'), { host: '[::1]', port: null });
  assert.deepEqual(parseHost('127.1:80'), { host: '127.0.0.1', port: 80 }, 'numeric IPv4 forms as a browser reads them');
  for (const bad of [undefined, '', 'a b', 'x@127.0.0.1', '127.0.0.1:', '127.0.0.1:99999', 'host/path', ':80', '[::1', 'a:b:c']) {
    assert.equal(parseHost(bad), null, String(bad));
  }
});

test('allowlist: loopback names on the served port, the bound address, BOXLAB_ALLOWED_HOSTS', () => {
  const h = new HostAllowlist({ bound: '127.0.0.1', port: 3000, extra: ['boxlab.example', 'lab.example:8443'] });
  for (const ok of ['localhost:3000', '127.0.0.1:3000', '[::1]:3000', 'boxlab.example', 'boxlab.example:443', 'lab.example:8443'])
    assert.ok(h.allows(ok), ok);
  for (const no of [
    'rebind.example:3000',
    'localhost:3001',
    'localhost',
    '127.0.0.2:3000',
    'lab.example',
    'lab.example:3000',
    undefined,
    'localhost.:3000',
  ]) {
    assert.equal(h.allows(no), false, String(no));
  }
  assert.throws(() => new HostAllowlist({ bound: '127.0.0.1', port: 1, extra: ['x y'] }));
});

test('allowlist: bound to 0.0.0.0 serves every interface address and the hostname; re-reads interfaces on a miss', () => {
  let t = 0;
  let addrs = ['127.0.0.1', '192.168.1.20', '::1', 'fe80::1%eth0', '2001:db8::5'];
  const h = new HostAllowlist({ bound: '0.0.0.0', port: 80, interfaces: () => addrs, hostname: () => 'Lab-PC', now: () => t });
  for (const ok of ['192.168.1.20', '192.168.1.20:80', '[2001:db8::5]', 'lab-pc', 'lab-pc.local', 'localhost']) assert.ok(h.allows(ok), ok);
  assert.equal(h.allows('192.168.1.20:8080'), false, 'other port');
  assert.equal(h.allows('10.0.0.9'), false);
  addrs = [...addrs, '10.0.0.9'];
  assert.equal(h.allows('10.0.0.9'), false, 'not re-read within 5 s');
  t += 6000;
  assert.equal(h.allows('10.0.0.9'), true, 'a new interface address is served after a re-read');
  const one = new HostAllowlist({ bound: '192.168.1.20', port: 80, interfaces: () => addrs, hostname: () => 'lab-pc' });
  assert.equal(one.allows('lab-pc'), false, 'bound to one address: only it (and loopback names)');
  assert.equal(one.allows('192.168.1.20'), true);
});

/** One raw HTTP request with a chosen Host header (node's client would otherwise set it). */
function withHost(
  url: string,
  method: string,
  path: string,
  host: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method, path, headers: { Host: host, ...headers }, setHost: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c)).on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('real server: a rebinding Host gets 421 for HTTP and upgrade; Origin must match an allowed Host', async (t) => {
  const { url, srv } = await start(t, { allowedHosts: ['boxlab.example'] });
  const port = srv.port;
  const rebind = `rebind.example:${port}`;
  const r = await withHost(url, 'POST', '/api/session', rebind, { Origin: `http://${rebind}` });
  assert.equal(r.status, 421, 'the reported attack: POST /api/session with Host and Origin rebind.example');
  assert.match(r.body, /BOXLAB_ALLOWED_HOSTS/);
  assert.equal((await withHost(url, 'GET', '/api/health', rebind)).status, 421);
  assert.equal((await withHost(url, 'GET', '/', rebind)).status, 421, 'static files too');
  assert.equal(srv.manager.size, 0, 'no session was made');
  assert.equal((await withHost(url, 'GET', '/api/health', `localhost:${port}`)).status, 200);
  assert.equal((await withHost(url, 'GET', '/api/health', `[::1]:${port}`)).status, 200);
  assert.equal((await withHost(url, 'GET', '/api/health', 'boxlab.example')).status, 200, 'BOXLAB_ALLOWED_HOSTS, behind a proxy');

  const { token } = await newSession(url);
  const proto = `boxlab.v1, boxlab.token.${token}`;
  assert.equal(
    (await rawUpgrade(url, { Host: rebind, Origin: `http://${rebind}`, 'Sec-WebSocket-Protocol': proto })).status,
    421,
    'the /ws upgrade of the attack',
  );
  assert.equal(
    (await rawUpgrade(url, { Host: rebind, Origin: `http://${rebind}`, 'Sec-WebSocket-Protocol': proto }, '/ws/watch')).status,
    421,
  );
  assert.equal(
    (await rawUpgrade(url, { Origin: `http://${rebind}`, 'Sec-WebSocket-Protocol': proto })).status,
    403,
    'allowed Host, foreign Origin',
  );
  assert.equal(
    (await rawUpgrade(url, { Host: `localhost:${port}`, Origin: `http://127.0.0.1:${port}`, 'Sec-WebSocket-Protocol': proto })).status,
    403,
    'Origin must name the Host the request was made to',
  );
  assert.equal(
    (await rawUpgrade(url, { Host: `localhost:${port}`, Origin: `http://localhost:${port}`, 'Sec-WebSocket-Protocol': proto })).status,
    101,
  );
  assert.equal((await withHost(url, 'POST', '/api/session', `localhost:${port}`, { Origin: `http://${rebind}` })).status, 403);
});
