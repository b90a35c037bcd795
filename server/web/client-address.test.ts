// Trusted proxies: X-Forwarded-For parsed as hostile input (garbage, huge, IPv6, ports), the right-most untrusted
// address as the client, the header ignored from anyone else; the setting's errors; a real HTTP server and upgrade.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { test } from 'node:test';
import { clientAddress, sendJson } from '../sessions/routes.ts';
import { MAX_FORWARDED_HOPS, ProxyTrust, parseForwardedAddress } from './client-address.ts';
import { ConfigError, FAIRNESS, loadConfig } from './config.ts';
import { listenHttp } from './http.ts';

test('one X-Forwarded-For element: addresses with or without a port, IPv6 in brackets; anything else is null', () => {
  const ok: [string, string][] = [
    ['203.0.113.7', '203.0.113.7'],
    [' 203.0.113.7 ', '203.0.113.7'],
    ['203.0.113.7:5555', '203.0.113.7'],
    ['2001:DB8::1', '2001:db8::1'],
    ['[2001:db8::1]', '2001:db8::1'],
    ['[2001:db8::1]:443', '2001:db8::1'],
    ['::ffff:198.51.100.2', '198.51.100.2'],
  ];
  for (const [raw, want] of ok) assert.equal(parseForwardedAddress(raw), want, raw);
  for (const bad of [
    '',
    'unknown',
    '_hidden',
    'example.org',
    '203.0.113.7:99999x',
    '203.0.113.256',
    '[203.0.113.7]:80',
    'fe80::1%eth0',
    '[2001:db8::1',
    '2001:db8::1:443]',
    '1.2.3.4 5.6.7.8',
    '1'.repeat(100),
    '<script>',
    '1.2.3.4\r\nX-Evil: 1',
  ])
    assert.equal(parseForwardedAddress(bad), null, JSON.stringify(bad));
});

test('the setting: addresses and CIDRs of both families; a bad entry is refused with the accepted form', () => {
  const trust = new ProxyTrust(['10.0.0.0/8', '192.0.2.1', 'fd00::/8', '::1']);
  for (const yes of ['10.1.2.3', '::ffff:10.9.9.9', '192.0.2.1', 'fd12::5', '::1']) assert.ok(trust.trusts(yes), yes);
  for (const no of ['192.0.2.2', '11.0.0.1', 'fe80::1', '2001:db8::1', undefined, 'garbage'])
    assert.equal(trust.trusts(no), false, String(no));
  assert.equal(new ProxyTrust([]).enabled, false);
  for (const bad of ['10.0.0.0/33', 'fd00::/129', 'example.org', '10.0.0.0/8/8', '*', '10.0.0.1 10.0.0.2'])
    assert.throws(() => new ProxyTrust([bad]), /not an address or a CIDR/, bad);
  assert.deepEqual(loadConfig({ BOXLAB_TRUSTED_PROXIES: '10.0.0.1, fd00::/8' }).trustedProxies, ['10.0.0.1', 'fd00::/8']);
  assert.deepEqual(loadConfig({}).trustedProxies, [], 'nothing trusted by default');
  assert.throws(
    () => loadConfig({ BOXLAB_TRUSTED_PROXIES: '10.0.0.1,nope' }),
    (e: Error) => e instanceof ConfigError && /BOXLAB_TRUSTED_PROXIES: "nope" is not an address or a CIDR/.test(e.message),
  );
  assert.throws(() => loadConfig({}, ['--trusted-proxies', '1.2.3.4/40']), ConfigError);
});

test('the client: right-most untrusted address from a trusted peer; the header ignored from anyone else', () => {
  const trust = new ProxyTrust(['10.0.0.0/8']);
  const lb = '10.0.0.2';
  // HAProxy appends the address it saw: a learner's own header stays on the left and is not believed.
  assert.equal(trust.clientOf(lb, '203.0.113.7'), '203.0.113.7');
  assert.equal(trust.clientOf(lb, '6.6.6.6, 203.0.113.7'), '203.0.113.7', 'a forged left part is skipped');
  assert.equal(trust.clientOf(lb, '203.0.113.7, 10.0.0.9'), '203.0.113.7', 'a chain of trusted proxies is walked');
  assert.equal(trust.clientOf(lb, ['6.6.6.6', '203.0.113.7']), '203.0.113.7', 'repeated headers, in order');
  assert.equal(trust.clientOf(lb, '[2001:db8::1]:443'), '2001:db8::1');
  assert.equal(trust.clientOf(`::ffff:${lb}`, '203.0.113.7'), '203.0.113.7', 'a dual-stack socket reports the proxy mapped');
  assert.equal(trust.clientOf(lb, undefined), lb, 'no header (a health check): the proxy itself');
  assert.equal(trust.clientOf(lb, ''), lb);
  // Garbage where the proxy's own element should be: the client is unknown, counted as the proxy (never as the garbage).
  assert.equal(trust.clientOf(lb, '203.0.113.7, garbage'), lb);
  assert.equal(trust.clientOf(lb, '203.0.113.7,'), lb);
  assert.equal(trust.clientOf(lb, '203.0.113.7, garbage, 10.0.0.9'), '10.0.0.9', 'the last trusted hop');
  // Only the proxy's peer makes the header count.
  assert.equal(trust.clientOf('198.51.100.1', '203.0.113.7'), '198.51.100.1');
  assert.equal(new ProxyTrust([]).clientOf(lb, '203.0.113.7'), lb, 'default: nothing trusted');
  assert.equal(trust.clientOf(undefined, '203.0.113.7'), undefined);
  // Huge headers: only the right end is read (Node caps all headers at 16 KiB; this is the walk's own bound).
  const trusted = Array.from({ length: MAX_FORWARDED_HOPS + 5 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
  assert.equal(trust.clientOf(lb, ['203.0.113.7', ...trusted].join(',')), trusted[trusted.length - MAX_FORWARDED_HOPS]);
  const huge = `${'x,'.repeat(200_000)}203.0.113.7`;
  const t0 = performance.now();
  assert.equal(trust.clientOf(lb, huge), '203.0.113.7');
  assert.ok(performance.now() - t0 < 50, 'a huge header costs no more than its right end');
});

test('a real server: routes and the WebSocket upgrade see the forwarded client only from a trusted peer', async (t) => {
  const seen: (string | undefined)[] = [];
  const start = async (trustedProxies: string[]) => {
    const front = await listenHttp({
      host: '127.0.0.1',
      port: 0,
      allowedHosts: [],
      trustedProxies,
      fairness: FAIRNESS,
      tls: null,
      routes: [async (req, res) => (sendJson(res, 200, { client: clientAddress(req) ?? null }), true)],
      upgrades: [
        {
          handles: () => true,
          handleUpgrade: (req, socket) => {
            seen.push(clientAddress(req));
            socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
          },
        },
      ],
      serveStatic: async () => {},
      log: () => {},
    });
    t.after(() => front.http.close());
    return front.port;
  };
  const ask = (port: number, xff?: string) =>
    new Promise<string>((resolve, reject) => {
      const headers: Record<string, string> = { host: `127.0.0.1:${port}` };
      if (xff !== undefined) headers['x-forwarded-for'] = xff;
      request({ host: '127.0.0.1', port, path: '/api/who', headers }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(JSON.parse(body).client));
      })
        .on('error', reject)
        .end();
    });
  const upgrade = (port: number, xff: string) =>
    new Promise<void>((resolve) => {
      const s = connect(port, '127.0.0.1', () =>
        s.write(
          `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nX-Forwarded-For: ${xff}\r\n\r\n`,
        ),
      );
      s.on('data', () => {});
      s.on('close', () => resolve());
    });
  const behind = await start(['127.0.0.1']);
  assert.equal(await ask(behind, '6.6.6.6, 203.0.113.7'), '203.0.113.7');
  assert.equal(await ask(behind), '127.0.0.1');
  await upgrade(behind, '2001:db8::7');
  const open = await start([]);
  assert.equal(await ask(open, '203.0.113.7'), '127.0.0.1', 'an untrusted peer: the header is ignored');
  await upgrade(open, '203.0.113.7');
  assert.deepEqual(seen, ['2001:db8::7', '127.0.0.1']);
});

test("the connection gate counts no connections of a trusted balancer per address (HAProxy's frontend does)", async () => {
  const { EventEmitter } = await import('node:events');
  const { ConnectionGate } = await import('./gate.ts');
  const limits = { attempts: { perSec: 1, burst: 1 }, maxDelayMs: 0, maxOpenPerAddress: 1 };
  const sock = (remoteAddress: string) =>
    Object.assign(new EventEmitter(), { remoteAddress, destroyed: false, end() {}, destroy() {} }) as never;
  const trust = new ProxyTrust(['10.0.0.2']);
  const gate = new ConnectionGate(limits, undefined, (a) => trust.trusts(a));
  let passed = 0;
  for (let i = 0; i < 5; i++) gate.admit(sock('10.0.0.2'), () => passed++);
  assert.equal(passed, 5, 'the balancer: all admitted');
  for (let i = 0; i < 5; i++) gate.admit(sock('10.0.0.3'), () => passed++);
  assert.equal(passed, 6, 'anyone else: one open connection, then refused');
  assert.equal(gate.stats.refusedOpen, 4);
});
