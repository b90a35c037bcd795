// Server config: defaults, env, flags overriding env, and clear errors for bad values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MiB } from '../protocol/size.ts';
import { ConfigError, defaultConfig, detectCgroupVersion, loadConfig, parseDuration, resolveImagePath, sessionLimits } from './config.ts';

test('defaults match the brief', () => {
  const c = loadConfig({}, []);
  assert.equal(c.port, 3000);
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.memoryBytes, 256 * MiB);
  assert.equal(c.cpuFraction, 0.5);
  assert.equal(c.pids, 128);
  assert.equal(c.diskBytes, 64 * MiB);
  assert.equal(c.lifetimeSec, 7200);
  assert.equal(c.idleSec, 1800);
  assert.equal(c.graceSec, 60);
  assert.equal(c.maxSessions, 200);
  assert.equal(c.maxPerClient, 3);
  assert.equal(c.imagePath, undefined);
  assert.match(c.staticDir, /\/out$/);
  assert.deepEqual(sessionLimits(c), { memory: '256M', cpuLimit: '0.5', pids: 128, disk: '64M', lifetimeSec: 7200, idleSec: 1800 });
});

test('env then flags, both --flag value and --flag=value', () => {
  const env = {
    PORT: '8080',
    BOXLAB_MEMORY: '1g',
    BOXLAB_IDLE: '10m',
    BOXLAB_ALLOWED_ORIGINS: 'https://a.example, https://b.example:8443',
  };
  const c = loadConfig(env, ['--port', '9090', '--lifetime=1h', '--max-per-client', '5', '--image', '/srv/img']);
  assert.equal(c.port, 9090, 'flag beats env');
  assert.equal(c.memoryBytes, 1024 * MiB);
  assert.equal(c.idleSec, 600);
  assert.equal(c.lifetimeSec, 3600);
  assert.equal(c.maxPerClient, 5);
  assert.equal(c.imagePath, '/srv/img');
  assert.deepEqual(c.allowedOrigins, ['https://a.example', 'https://b.example:8443']);
});

test('bad values fail with one clear line naming the source', () => {
  const cases: [Record<string, string>, string[], RegExp][] = [
    [{ PORT: '70000' }, [], /PORT: "70000" must be an integer in 0\.\.65535/],
    [{ BOXLAB_MEMORY: 'lots' }, [], /BOXLAB_MEMORY: "lots" is not a size/],
    [{ BOXLAB_CPU: '-1' }, [], /BOXLAB_CPU/],
    [{}, ['--grace', '0'], /--grace/],
    [{}, ['--idle', '5 minutes'], /--idle: "5 minutes" is not a duration/],
    [{}, ['--nope'], /unknown option "--nope"/],
    [{}, ['--port'], /--port needs a value/],
    [{ BOXLAB_ALLOWED_ORIGINS: 'https://x.example/path' }, [], /is not an origin/],
  ];
  for (const [env, argv, re] of cases)
    assert.throws(
      () => loadConfig(env, argv),
      (e: Error) => e instanceof ConfigError && re.test(e.message),
    );
});

test('per-client cap never exceeds the total; durations', () => {
  assert.equal(loadConfig({ BOXLAB_MAX_SESSIONS: '2' }, []).maxPerClient, 2);
  assert.equal(parseDuration('90'), 90);
  assert.equal(parseDuration('2h'), 7200);
  assert.throws(() => parseDuration('8d'));
});

test('image path: configured one wins, else rootfs defaultImagePath()', async () => {
  assert.equal(await resolveImagePath({ ...defaultConfig(), imagePath: '/x' }), '/x');
  const p = await resolveImagePath(defaultConfig());
  const { defaultImagePath } = await import('../rootfs/index.ts');
  assert.equal(p, defaultImagePath());
});

test('cgroup version detection: hybrid (v1 controllers present) is 1, pure unified is 2', () => {
  const root = mkdtempSync(join(tmpdir(), 'boxlab-cg-'));
  try {
    writeFileSync(join(root, 'cgroup.controllers'), 'cpu memory pids\n');
    assert.equal(detectCgroupVersion(root), 2);
    mkdirSync(join(root, 'memory'));
    assert.equal(detectCgroupVersion(root), 1);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  assert.equal(detectCgroupVersion(), 1, 'this machine is hybrid');
});

test('BOXLAB_DATABASE_URL: read from the environment only, a postgres:// URL or a clear error without the value', () => {
  assert.equal(loadConfig({}).databaseUrl, undefined, 'unset: the SQLite file');
  const url = 'postgres://boxlab:s3cret@10.0.0.20:5432/boxlab';
  assert.equal(loadConfig({ BOXLAB_DATABASE_URL: url }).databaseUrl, url);
  assert.equal(loadConfig({ BOXLAB_DATABASE_URL: 'postgresql://db/boxlab' }).databaseUrl, 'postgresql://db/boxlab');
  assert.throws(
    () => loadConfig({ BOXLAB_DATABASE_URL: 'postgre://boxlab:s3cret@db/x' }),
    (e: Error) =>
      e instanceof ConfigError && /^BOXLAB_DATABASE_URL: must be a postgres:\/\/ URL/.test(e.message) && !e.message.includes('s3cret'),
  );
  assert.throws(
    () => loadConfig({}, ['--database-url', url]),
    /unknown option "--database-url"/,
    'no flag: argv is readable by every user',
  );
});
