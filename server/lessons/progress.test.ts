// Progress store: passed steps per learner and lesson, "done" when all are passed, tokens never stored, kept across reopen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MAX_PENDING_PASSES, ProgressStore, defaultDbPath, learnerKey } from './progress.ts';
import { DbError } from '../db/sql.ts';
import { MiB, parseBytes } from '../protocol/size.ts';
import { settingsFor, settingsMatch } from './settings.ts';
import { bothEngines, closing } from '../db/testing/engines.ts';

// What only the embedded file has (the recording itself is checked on both engines below): its directory is made,
// its mode is 0600, and the token itself is never written, only its hash.
test('the SQLite file: made with its directory, mode 0600, the token never written', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlab-progress-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'sub', 'boxlab.db');
  const token = 'A'.repeat(43);
  const key = learnerKey(token);
  const store = new ProgressStore(file);
  assert.equal(store.persistent, true);
  await store.touch(key, 'Ada');
  assert.equal(await store.pass(key, 'xray-tour', 0), true);
  await store.close();
  assert.equal((fs.statSync(file).mode & 0o777).toString(8), '600');
  assert.ok(!fs.readFileSync(file).includes(token), 'the token itself is never written');
});

bothEngines('steps are recorded once, lessons are done when every step is, and the data survives a reopen', async (t, o) => {
  const open = closing(t, o);
  const token = 'A'.repeat(43);
  const key = learnerKey(token);
  let store = new ProgressStore(open());
  assert.equal(store.persistent, true);
  await store.touch(key, 'Ada');
  await store.touch(key);
  assert.equal(await store.pass(key, 'xray-tour', 0), true);
  assert.equal(await store.pass(key, 'xray-tour', 0), false, 'already recorded');
  await store.pass(key, 'xray-tour', 1);
  let p = await store.progress(key, { 'xray-tour': 3 });
  assert.deepEqual(p['xray-tour']?.steps, [0, 1]);
  assert.equal(p['xray-tour']?.done, false);
  assert.ok(Number.isSafeInteger(p['xray-tour']?.updatedAt) && p['xray-tour']!.updatedAt > 1.7e12, 'times are numbers in ms');
  await store.close();
  store = new ProgressStore(open());
  await store.pass(key, 'xray-tour', 2);
  p = await store.progress(key, { 'xray-tour': 3 });
  assert.equal(p['xray-tour']?.done, true);
  assert.deepEqual(await store.passedSteps(key, 'xray-tour'), [0, 1, 2]);
  assert.deepEqual(await store.progress(learnerKey('B'.repeat(43)), { 'xray-tour': 3 }), {}, 'other learners see nothing');
  const name = await store.database.get<{ name: string }>('SELECT name FROM learners WHERE id = ?', [key]);
  assert.equal(name?.name, 'Ada', 'a touch without a name keeps the name');
  assert.equal(await store.database.get('SELECT 1 AS x FROM learners WHERE id = ?', [token]), undefined, 'the token is never a key');
});

bothEngines('two nodes on one database: progress passed through one shows through the other at once', async (t, o) => {
  const open = closing(t, o);
  const [a, b] = [new ProgressStore(open()), new ProgressStore(open())];
  const key = learnerKey('C'.repeat(43));
  // Both start at once on an empty database: the migration runs once (the lock), neither fails.
  await Promise.all([a.database.ready(), b.database.ready()]);
  assert.equal(await a.pass(key, 'xray-tour', 0), true);
  assert.deepEqual(await b.passedSteps(key, 'xray-tour'), [0], 'node B reads what node A wrote');
  assert.equal(await b.pass(key, 'xray-tour', 0), false, 'node B sees it as already passed');
  await b.pass(key, 'xray-tour', 1);
  assert.deepEqual((await a.progress(key, { 'xray-tour': 2 }))['xray-tour']?.done, true, 'and node A what node B wrote');
});

test('an unwritable path falls back to memory instead of failing the server', async () => {
  const lines: string[] = [];
  const store = new ProgressStore('/proc/boxlab-cannot/boxlab.db', (l) => lines.push(l));
  assert.equal(store.persistent, false);
  assert.match(lines[0] ?? '', /in memory only/);
  await store.close();
});

test('default path follows BOXLAB_HOME', () => {
  assert.equal(defaultDbPath({}), '/var/lib/boxlab/boxlab.db');
  assert.equal(defaultDbPath({ BOXLAB_HOME: '/srv/b' }), '/srv/b/boxlab.db');
});

test('lesson settings are capped by the server limits and compared by value', () => {
  // Typed since the limits grammar is parsed once at the edge (server/protocol/size.ts): "64M" and "65536K" are both
  // 64 MiB before they get here, so "compared by value" is number equality.
  const limits = { memoryBytes: 256 * MiB, cpuFraction: 0.5, pids: 128 };
  assert.deepEqual(settingsFor({ memoryBytes: 64 * MiB, pids: 32 }, limits), { memoryBytes: 64 * MiB, pids: 32 });
  assert.deepEqual(settingsFor({ memoryBytes: 1024 * MiB, cpuFraction: 2, pids: 4096 }, limits), {
    memoryBytes: 256 * MiB,
    cpuFraction: 0.5,
    pids: 128,
  });
  assert.equal(parseBytes('64M'), 64 << 20);
  assert.equal(settingsMatch({ memoryBytes: 64 * MiB, cpuFraction: 0.5, pids: 128 }, { memoryBytes: parseBytes('65536K') }, limits), true);
  assert.equal(settingsMatch({ memoryBytes: 256 * MiB, cpuFraction: 0.5, pids: 128 }, { memoryBytes: 64 * MiB }, limits), false);
  assert.equal(settingsMatch({ memoryBytes: 256 * MiB, cpuFraction: 0.5, pids: 128 }, {}, limits), true);
});

test("a pack's image is asked for only when the server has it, and a box from another image does not match", () => {
  const limits = { memoryBytes: 256 * MiB, cpuFraction: 0.5, pids: 128 };
  assert.deepEqual(settingsFor({ image: 'debian' }, limits), {}, 'no hasImage: the default image, never a rebuild loop');
  assert.deepEqual(settingsFor({ image: 'debian' }, { ...limits, hasImage: (n) => n === 'debian' }), { image: 'debian' });
  const box = { memoryBytes: 256 * MiB, cpuFraction: 0.5, pids: 128, baseDir: '/var/lib/boxlab/images/busybox' };
  assert.equal(settingsMatch(box, { image: 'debian' }, limits), false);
  assert.equal(settingsMatch({ ...box, baseDir: '/var/lib/boxlab/images/debian' }, { image: 'debian' }, limits), true);
});

test('a step passed while the database is down is kept, counted, and written by the retry once it answers', async () => {
  const lines: string[] = [];
  const store = new ProgressStore(':memory:', (l) => lines.push(l), 20);
  const key = learnerKey('tok-outage');
  await store.database.ready();
  const run = store.database.run.bind(store.database);
  let down = true;
  store.database.run = ((sql: string, params?: never) => {
    if (down && sql.startsWith('INSERT INTO steps')) return Promise.reject(new DbError('postgres: connection refused', false));
    return run(sql, params);
  }) as typeof store.database.run;
  await assert.rejects(
    store.pass(key, 'xray-tour', 1),
    (err: Error) => err instanceof DbError && /kept, written when the database answers again/.test(err.message),
  );
  await assert.rejects(store.pass(key, 'xray-tour', 1), DbError, 'the same pass again: still one kept');
  assert.equal(store.pendingPasses, 1);
  assert.deepEqual(await store.passedSteps(key, 'xray-tour'), [1], 'this node counts it meanwhile');
  assert.deepEqual((await store.progress(key, { 'xray-tour': 2 }))['xray-tour']?.steps, [1]);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(store.pendingPasses, 1, 'retried, still down: still kept');
  down = false;
  for (let i = 0; i < 100 && store.pendingPasses; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(store.pendingPasses, 0, 'written by the retry');
  const rows = await store.database.all<{ step: number }>('SELECT step FROM steps WHERE learner = ?', [key]);
  assert.deepEqual(
    rows.map((r) => r.step),
    [1],
    'in the database once it answers',
  );
  assert.equal(await store.pass(key, 'xray-tour', 1), false, 'already passed');
  await store.close();
});

test('kept passes are capped at MAX_PENDING_PASSES (the oldest dropped, said once per drop) and a close says what is lost', async () => {
  const lines: string[] = [];
  const store = new ProgressStore(':memory:', (l) => lines.push(l), 60_000);
  await store.database.ready();
  store.database.run = (() => Promise.reject(new DbError('down', false))) as typeof store.database.run;
  for (let i = 0; i <= MAX_PENDING_PASSES; i++) await store.pass(`k${i}`, 's', 0).catch(() => {});
  assert.equal(store.pendingPasses, MAX_PENDING_PASSES);
  assert.deepEqual(await store.passedSteps('k0', 's'), [], 'the oldest was dropped');
  assert.deepEqual(await store.passedSteps(`k${MAX_PENDING_PASSES}`, 's'), [0]);
  assert.equal(lines.filter((l) => /oldest is dropped/.test(l)).length, 1);
  await store.close();
  assert.match(lines.at(-1) ?? '', new RegExp(`${MAX_PENDING_PASSES} passed step\\(s\\) lost`));
});
