// Progress store: passed steps per learner and lesson, "done" when all are passed, tokens never stored, kept across reopen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProgressStore, defaultDbPath, learnerKey } from './progress.ts';
import { MiB, parseBytes } from '../protocol/size.ts';
import { settingsFor, settingsMatch } from './settings.ts';

test('steps are recorded once, lessons are done when every step is, and the file survives a reopen', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlab-progress-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'sub', 'boxlab.db');
  const token = 'A'.repeat(43);
  const key = learnerKey(token);
  let store = new ProgressStore(file);
  assert.equal(store.persistent, true);
  store.touch(key, 'Ada');
  assert.equal(store.pass(key, 'xray-tour', 0), true);
  assert.equal(store.pass(key, 'xray-tour', 0), false, 'already recorded');
  store.pass(key, 'xray-tour', 1);
  let p = store.progress(key, { 'xray-tour': 3 });
  assert.deepEqual(p['xray-tour']?.steps, [0, 1]);
  assert.equal(p['xray-tour']?.done, false);
  store.close();
  store = new ProgressStore(file);
  store.pass(key, 'xray-tour', 2);
  p = store.progress(key, { 'xray-tour': 3 });
  assert.equal(p['xray-tour']?.done, true);
  assert.deepEqual(store.progress(learnerKey('B'.repeat(43)), { 'xray-tour': 3 }), {}, 'other learners see nothing');
  store.close();
  assert.equal((fs.statSync(file).mode & 0o777).toString(8), '600');
  assert.ok(!fs.readFileSync(file).includes(token), 'the token itself is never written');
});

test('an unwritable path falls back to memory instead of failing the server', () => {
  const lines: string[] = [];
  const store = new ProgressStore('/proc/boxlab-cannot/boxlab.db', (l) => lines.push(l));
  assert.equal(store.persistent, false);
  assert.match(lines[0] ?? '', /in memory only/);
  store.close();
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
