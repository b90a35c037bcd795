// Instructor sign-in: wrong tokens rate-limited per address and globally on a fake clock; the token kept across
// restarts in BOXLAB_HOME; a bad token is one line and exit 2 from `boxlab serve`; 429 + Retry-After over HTTP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { http, start } from '../root/testing/test-client.ts';
import { InstructorAuth, loadInstructorToken } from './auth.ts';
import { LoginLimiter } from './login-limit.ts';

const limits = { perAddress: { perSec: 1 / 6, burst: 3 }, global: { perSec: 1, burst: 5 }, maxAddresses: 2 };

test('per address: a burst of failures, then Retry-After until the bucket refills (fake clock)', () => {
  let now = 0;
  const l = new LoginLimiter(limits, () => now);
  for (let i = 0; i < 3; i++) {
    assert.equal(l.retryAfterSec('10.0.0.1'), 0);
    l.failed('10.0.0.1');
  }
  assert.equal(l.retryAfterSec('10.0.0.1'), 6, 'one attempt per 6 s after the burst');
  assert.equal(l.retryAfterSec('10.0.0.2'), 0, 'another address is not held back');
  assert.equal(l.retryAfterSec('::ffff:10.0.0.1'), 6, 'the IPv4-mapped form is the same address');
  now += 5000;
  assert.equal(l.retryAfterSec('10.0.0.1'), 1);
  now += 1000;
  assert.equal(l.retryAfterSec('10.0.0.1'), 0);
  l.failed('10.0.0.1');
  assert.equal(l.retryAfterSec('10.0.0.1'), 6);
  // IPv6: one /64 is one address.
  for (let i = 0; i < 3; i++) l.failed(`2001:db8:1:2::${i + 1}`);
  assert.ok(l.retryAfterSec('2001:db8:1:2::99') > 0);
  assert.equal(l.stats.failures, 7);
});

test('globally: failures from many addresses hold everyone back, each address within its own budget', () => {
  let now = 0;
  const l = new LoginLimiter({ ...limits, maxAddresses: 100 }, () => now);
  for (let i = 0; i < 5; i++) l.failed(`10.0.1.${i}`);
  assert.equal(l.retryAfterSec('10.9.9.9'), 1, 'a fresh address waits for the global bucket');
  now += 1000;
  assert.equal(l.retryAfterSec('10.9.9.9'), 0);
});

test('InstructorAuth: over budget, even the right token is not compared (no oracle), then heard again', () => {
  let now = 0;
  const auth = new InstructorAuth('right-token-0123456789', new LoginLimiter(limits, () => now));
  const req = (token: string) => ({ headers: { authorization: `Bearer ${token}` }, socket: { remoteAddress: '10.0.0.7' } }) as never;
  for (let i = 0; i < 3; i++) assert.equal(auth.fromRequest(req(`wrong-${i}-0123456789abcdef`)), 'bad');
  assert.equal(auth.fromRequest(req('right-token-0123456789')), 'limited');
  assert.equal(auth.fromProtocols(['boxlab.instructor.right-token-0123456789'], '10.0.0.7'), 'limited');
  assert.equal(auth.fromProtocols(['boxlab.v1'], '10.0.0.7'), 'missing', 'no token offered: not an attempt');
  now += 6000;
  assert.equal(auth.fromRequest(req('right-token-0123456789')), 'ok');
  assert.throws(
    () => new InstructorAuth('short-15-chars!'),
    (e: Error) => e.name === 'ConfigError',
  );
});

test('the token is kept in BOXLAB_HOME (0600) and read back after a restart; a damaged file is an error naming it', (t) => {
  const home = mkdtempSync(join(tmpdir(), 'boxlab-token-'));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  const a = loadInstructorToken(join(home, 'sub'));
  assert.match(a, /^[A-Za-z0-9_-]{32}$/);
  assert.equal(statSync(join(home, 'sub', 'instructor-token')).mode & 0o777, 0o600);
  assert.equal(loadInstructorToken(join(home, 'sub')), a, 'same token on the next start');
  assert.equal(readFileSync(join(home, 'sub', 'instructor-token'), 'utf8'), `${a}\n`);
  writeFileSync(join(home, 'instructor-token'), 'too short\n');
  assert.throws(
    () => loadInstructorToken(home),
    (e: Error) => /instructor-token: not an instructor token/.test(e.message) && !e.message.includes('\n'),
  );
});

test('boxlab serve with a 15-character BOXLAB_INSTRUCTOR_TOKEN: one line on stderr, exit 2', () => {
  const bin = fileURLToPath(new URL('../../bin/boxlab.js', import.meta.url));
  const r = spawnSync(process.execPath, [bin, 'serve'], {
    env: { ...process.env, BOXLAB_INSTRUCTOR_TOKEN: 'abcdefghijklmno' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  const lines = r.stderr.split('\n').filter((l) => l && !/dist\//.test(l));
  assert.deepEqual(lines, ['boxlab: BOXLAB_INSTRUCTOR_TOKEN: must be at least 16 characters of A-Z a-z 0-9 _ - (got 15)']);
  assert.equal(r.status, 2);
});

test('HTTP: wrong bearer tokens get 401, then 429 with Retry-After, before the token is compared', async (t) => {
  const token = 'the-instructor-token-123456';
  const { srv, url } = await start(t, { instructorToken: token }, { course: { dbPath: ':memory:' } });
  let last = 0;
  let status = 0;
  for (let i = 0; i < 11 && status !== 429; i++) {
    const r = await http(url, 'GET', '/api/classroom/auth', undefined, { Authorization: `Bearer wrong-token-${i}-abcdefgh` });
    status = r.status;
    last = i;
    if (status === 429) {
      assert.ok(Number(r.headers['retry-after']) >= 1);
      assert.equal(JSON.parse(r.body).error, 'too_many_attempts');
    } else assert.equal(status, 401);
  }
  assert.equal(status, 429);
  assert.equal(last, 10, 'the 11th attempt of one address is refused (burst 10)');
  assert.equal(
    (await http(url, 'GET', '/api/classroom/auth', undefined, { Authorization: `Bearer ${token}` })).status,
    429,
    'right token also held back',
  );
  assert.equal(srv.course.auth.logins.stats.failures, 10);
});
