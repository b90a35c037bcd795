// HTTPS: the self-signed certificate (openssl, kept, reused, renewed), --tls-cert/--tls-key errors, the server over
// https and wss with its plain-http redirect on the same port, and the start-up lines for a room.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { clientProtocols } from '../protocol/messages.ts';
import { createConnection } from 'node:net';
import { ConfigError, FAIRNESS, loadConfig } from './config.ts';
import { HostAllowlist } from './hosts.ts';
import { http, rawUpgrade, start } from '../root/testing/test-client.ts';
import { ensureSelfSigned, loadTlsFiles, startupLines } from './tls.ts';

function tempHome(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'boxlab-tls-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test('self-signed: made with openssl for the names, key 0600, reused across restarts, renewed when a name is new', (t) => {
  const home = tempHome(t);
  const names = ['localhost', '127.0.0.1', '[::1]', 'Room-PC', 'room-pc.local', '10.1.2.3', '[fe80::1%eth0]'];
  const a = ensureSelfSigned({ home, names });
  assert.equal(a.origin, 'made');
  assert.deepEqual(a.names.sort(), ['::1', '10.1.2.3', '127.0.0.1', 'localhost', 'room-pc', 'room-pc.local'].sort());
  assert.equal(statSync(join(home, 'tls', 'self-signed.key')).mode & 0o777, 0o600);
  assert.equal(statSync(join(home, 'tls')).mode & 0o777, 0o700);
  // The fingerprint we print is the one openssl itself computes.
  const theirs = execFileSync('openssl', ['x509', '-in', a.certPath, '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8' });
  assert.equal(theirs.trim().split('=')[1], a.fingerprint);
  const pin = execFileSync(
    'sh',
    ['-c', `openssl x509 -in '${a.certPath}' -noout -pubkey | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64`],
    { encoding: 'utf8' },
  );
  assert.equal(pin.trim(), a.spki);
  const text = execFileSync('openssl', ['x509', '-in', a.certPath, '-noout', '-text'], { encoding: 'utf8' });
  assert.match(text, /CA:FALSE/);
  assert.match(text, /TLS Web Server Authentication/);

  const b = ensureSelfSigned({ home, names: [...names].reverse() });
  assert.equal(b.origin, 'reused');
  assert.equal(b.fingerprint, a.fingerprint, 'same names in another order: the same certificate');
  assert.equal(
    ensureSelfSigned({ home, names: names.slice(1) }).origin,
    'reused',
    'an address gone: the certificate still covers the rest',
  );
  const c = ensureSelfSigned({ home, names: [...names, '192.168.7.9'] });
  assert.equal(c.origin, 'renewed');
  assert.notEqual(c.fingerprint, a.fingerprint);
  assert.ok(c.names.includes('192.168.7.9'));
  const later = ensureSelfSigned({ home, names: [...names, '192.168.7.9'], now: () => Date.now() + 380 * 86400_000 });
  assert.equal(later.origin, 'renewed', 'less than 30 days left: made again');
  assert.throws(() => ensureSelfSigned({ home: tempHome(t), names, openssl: '/nonexistent/openssl' }), /openssl command is not installed/);
  const file = join(tempHome(t), 'a-file');
  writeFileSync(file, '');
  assert.throws(
    () => ensureSelfSigned({ home: file, names }),
    (e: Error) => e instanceof ConfigError && /cannot keep the certificate in .*a-file\/tls \(ENOTDIR\)/.test(e.message),
  );
});

test('--tls-cert/--tls-key: unreadable, not PEM or mismatched files are one-line errors', (t) => {
  const a = ensureSelfSigned({ home: tempHome(t), names: ['localhost'] });
  const b = ensureSelfSigned({ home: tempHome(t), names: ['localhost'] });
  const keyB = join(b.certPath, '..', 'self-signed.key');
  const junk = join(tempHome(t), 'junk.pem');
  writeFileSync(junk, 'hello\n');
  const one = (fn: () => unknown, re: RegExp): void =>
    assert.throws(fn, (e: Error) => e instanceof ConfigError && re.test(e.message) && !e.message.includes('\n'));
  one(() => loadTlsFiles('/nonexistent/cert.pem', keyB), /^--tls-cert \/nonexistent\/cert.pem: cannot read it \(ENOENT\)$/);
  one(() => loadTlsFiles(a.certPath, '/nonexistent/key.pem'), /^--tls-key \/nonexistent\/key.pem: cannot read it \(ENOENT\)$/);
  one(() => loadTlsFiles(junk, keyB), /not a PEM certificate/);
  one(() => loadTlsFiles(a.certPath, junk), /not a PEM private key/);
  one(() => loadTlsFiles(a.certPath, keyB), /is not the key of --tls-cert/);
  assert.equal(loadTlsFiles(b.certPath, keyB).fingerprint, b.fingerprint);
  one(() => loadConfig({}, ['--tls-cert', a.certPath]), /--tls-cert and --tls-key go together/);
  one(() => loadConfig({}, ['--tls', 'yes']), /must be off or self-signed/);
  one(() => loadConfig({}, ['--tls', 'self-signed', '--tls-cert', 'a', '--tls-key', 'b']), /exclude each other/);
  assert.equal(loadConfig({ BOXLAB_TLS_CERT: 'a', BOXLAB_TLS_KEY: 'b' }, []).tls, 'files');
  assert.equal(loadConfig({ BOXLAB_TLS: 'self-signed' }, []).tls, 'self-signed');
});

function get(url: string, ca: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // A foreign Host is checked against the certificate by the client: that check is not what this test is about.
    const req = httpsRequest(url, { ca, headers, ...(headers.Host ? { checkServerIdentity: () => undefined } : {}) }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c)).on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('the server over https: API, wss session, plain http on the same port redirects (308), foreign hosts 421', async (t) => {
  const home = tempHome(t);
  const { srv, url, logs } = await start(t, { tls: 'self-signed' }, { home });
  assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.ok(srv.tls && srv.tls.origin === 'made');
  assert.ok(
    logs.some((l) => l.includes(`fingerprint ${srv.tls!.fingerprint}`)),
    'the fingerprint is printed at start',
  );
  const ca = srv.tls.cert;
  const h = await get(`${url}/api/health`, ca);
  assert.equal(h.status, 200);
  assert.equal(JSON.parse(h.body).ok, true);
  // An untrusted client is refused by TLS itself: the certificate is not silently accepted.
  await assert.rejects(get(`${url}/api/health`, ''), /self[- ]signed|unable to verify/i);

  const plain = `http://127.0.0.1:${srv.port}`;
  const r = await http(plain, 'GET', '/lessons?x=1');
  assert.equal(r.status, 308);
  assert.equal(r.headers.location, `https://127.0.0.1:${srv.port}/lessons?x=1`);
  assert.equal((await http(plain, 'GET', '/', undefined, { Host: 'evil.example' })).status, 421);
  assert.equal((await get(`${url}/api/health`, ca, { Host: `evil.example:${srv.port}` })).status, 421);

  const created = await new Promise<{ token: string }>((resolve, reject) => {
    const req = httpsRequest(`${url}/api/session`, { method: 'POST', ca }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c)).on('end', () => resolve(JSON.parse(body)));
    });
    req.on('error', reject);
    req.end();
  });
  const ws = new WebSocket(`${url.replace('https', 'wss')}/ws`, clientProtocols(created.token), { ca, origin: url });
  const firstState = await new Promise<string>((resolve, reject) => {
    ws.on('message', (d, bin) => {
      if (!bin) resolve(JSON.parse(String(d)).type);
    });
    ws.on('error', reject);
  });
  assert.ok(firstState.length > 0, 'a protocol message arrived over wss');
  ws.close();
});

test('start-up lines: learners URLs for every address of a room, a warning for plain http beyond loopback', () => {
  const served = ['localhost', '127.0.0.1', '[::1]', '10.0.0.5', '[fd00::5]', '[fe80::1]', 'room-pc', 'room-pc.local'];
  const plain = startupLines({ bound: '0.0.0.0', port: 3000, tls: null, served });
  assert.deepEqual(
    plain[0],
    'learners open: http://10.0.0.5:3000/  http://[fd00::5]:3000/  http://room-pc:3000/  http://room-pc.local:3000/',
  );
  assert.match(plain[1] ?? '', /^anyone who can reach these addresses gets a root shell/);
  assert.match(plain[2] ?? '', /^WARNING: plain http on 0\.0\.0\.0: the instructor token .* clear text/);
  assert.deepEqual(startupLines({ bound: '127.0.0.1', port: 3000, tls: null, served }), [], 'loopback: nothing to warn about');
  const tls = {
    cert: '',
    key: '',
    certPath: '/h/tls/self-signed.crt',
    fingerprint: 'AA:BB',
    spki: 'cGlu',
    names: ['10.0.0.5'],
    origin: 'reused' as const,
  };
  const withTls = startupLines({ bound: '0.0.0.0', port: 3000, tls, served });
  assert.ok(withTls.some((l) => l === 'https: certificate SHA-256 fingerprint AA:BB'));
  assert.ok(withTls.some((l) => l.startsWith('learners open: https://10.0.0.5:3000/')));
  assert.ok(!withTls.some((l) => l.startsWith('WARNING')));
});

test('a wildcard bind: the certificate is for the host name, its .local, every interface address and loopback', (t) => {
  const served = new HostAllowlist({
    bound: '0.0.0.0',
    port: 3000,
    hostname: () => 'Room-PC',
    interfaces: () => ['127.0.0.1', '::1', '192.168.1.20', 'fd00::20', 'fe80::1%eth0'],
  }).served();
  const m = ensureSelfSigned({ home: tempHome(t), names: served });
  assert.deepEqual([...m.names].sort(), ['127.0.0.1', '192.168.1.20', '::1', 'fd00::20', 'localhost', 'room-pc', 'room-pc.local']);
});

test('the https port: a silent connection is cut after the first-byte deadline; a plain ws upgrade gets 308', async (t) => {
  const { srv } = await start(t, { tls: 'self-signed', fairness: { ...FAIRNESS, headersTimeoutMs: 300 } }, { home: tempHome(t) });
  const started = performance.now();
  const closedAfter = await new Promise<number>((resolve, reject) => {
    const s = createConnection(srv.port, '127.0.0.1');
    s.on('close', () => resolve(performance.now() - started));
    s.on('error', reject);
  });
  assert.ok(closedAfter >= 250 && closedAfter < 5000, `closed after ${closedAfter.toFixed(0)} ms`);
  const up = await rawUpgrade(`http://127.0.0.1:${srv.port}`, {});
  assert.equal(up.status, 308);
});

test('--tls-cert/--tls-key served: the names of the certificate are answered without BOXLAB_ALLOWED_HOSTS', async (t) => {
  const made = ensureSelfSigned({ home: tempHome(t), names: ['school.example', '127.0.0.1'] });
  const keyPath = join(made.certPath, '..', 'self-signed.key');
  const { srv, url, logs } = await start(t, { tlsCert: made.certPath, tlsKey: keyPath, tls: 'files' });
  assert.equal(srv.tls?.origin, 'files');
  assert.ok(logs.some((l) => l.startsWith('https: certificate ') && l.includes(made.certPath)));
  assert.equal((await get(`${url}/api/health`, made.cert, { Host: `school.example:${srv.port}` })).status, 200);
  assert.equal((await get(`${url}/api/health`, made.cert, { Host: `other.example:${srv.port}` })).status, 421);
});
