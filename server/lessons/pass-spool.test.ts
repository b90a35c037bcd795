// Pass spool: steps passed during a database outage survive the node's stop (even a torn line) and are written after.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassSpool } from './pass-spool.ts';
import { ProgressStore, learnerKey } from './progress.ts';
import { DbError } from '../db/sql.ts';
import { Database } from '../db/database.ts';
import { startThrowawayPg } from '../db/testing/throwaway-pg.ts';
import { skipReason } from '../db/testing/engines.ts';

function tmpSpool(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlab-spool-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'pending-passes-n1.jsonl');
}

/** A store whose step inserts fail with a DbError while `state.down`. */
async function storeWith(file: string, lines: string[], state: { down: boolean }, dbFile = ':memory:'): Promise<ProgressStore> {
  const store = new ProgressStore(dbFile, (l) => lines.push(l), 20, new PassSpool(file, (l) => lines.push(l)));
  await store.database.ready();
  const run = store.database.run.bind(store.database);
  store.database.run = ((sql: string, params?: never) => {
    if (state.down && sql.startsWith('INSERT INTO steps')) return Promise.reject(new DbError('postgres: connection refused', false));
    return run(sql, params);
  }) as typeof store.database.run;
  return store;
}

/** Polls every 10 ms, up to `ms` (generous: a loaded CI machine recovers a crashed PostgreSQL slowly). */
const until = async (ok: () => boolean, ms = 30_000) => {
  const end = Date.now() + ms;
  while (!ok() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
};

test('passes kept during an outage are in the file (mode 0600), read by the next run, written, and the file goes', async (t) => {
  const file = tmpSpool(t);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlab-spool-db-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const db = path.join(dir, 'boxlab.db');
  const lines: string[] = [];
  const a = await storeWith(file, lines, { down: true }, db);
  const key = learnerKey('tok-spool');
  await assert.rejects(a.pass(key, 'xray-tour', 0), DbError);
  await assert.rejects(a.pass(key, 'xray-tour', 2), DbError);
  await assert.rejects(a.pass(key, 'xray-tour', 2), DbError, 'the same pass again: one line');
  assert.equal(fs.readFileSync(file, 'utf8').trim().split('\n').length, 2);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.ok(!fs.readFileSync(file, 'utf8').includes('tok-spool'), 'the token itself is never written');
  await a.close(); // the database is still down: kept for the next start, said so
  assert.match(lines.at(-1) ?? '', /2 passed step\(s\) not yet in the database: kept in .*pending-passes-n1\.jsonl/);

  // The next run of the node, database back: it counts them at once and writes them without a visitor.
  const b = await storeWith(file, lines, { down: false }, db);
  assert.deepEqual(await b.passedSteps(key, 'xray-tour'), [0, 2]);
  await until(() => b.pendingPasses === 0);
  assert.equal(b.pendingPasses, 0);
  assert.equal(fs.existsSync(file), false, 'written, so the file is gone');
  const rows = await b.database.all<{ step: number }>('SELECT step FROM steps WHERE learner = ? ORDER BY step', [key]);
  assert.deepEqual(
    rows.map((r) => r.step),
    [0, 2],
  );
  assert.ok(lines.some((l) => /2 passed step\(s\) kept before a restart/.test(l)));
  await b.close();
});

test('a torn last line (kill -9 during an append) and foreign lines are skipped, the rest replayed', async (t) => {
  const file = tmpSpool(t);
  const key = learnerKey('tok-torn');
  const good = (slug: string, step: number) => JSON.stringify({ key, slug, step, at: 1 });
  const bad = [
    '{"key":"short","slug":"xray-tour","step":1,"at":1}',
    JSON.stringify({ key, slug: '../etc', step: 1, at: 1 }),
    JSON.stringify({ key, slug: 'xray-tour', step: -1, at: 1 }),
    JSON.stringify({ key, slug: 'xray-tour', step: 1.5, at: 1 }),
    'not json',
  ];
  fs.writeFileSync(file, `${good('xray-tour', 1)}\n${bad.join('\n')}\n${good('pid-namespace', 3)}\n${good('mount', 0).slice(0, 30)}`);
  const lines: string[] = [];
  const loaded = new PassSpool(file, (l) => lines.push(l)).load();
  assert.deepEqual(
    loaded.map((p) => `${p.slug}:${p.step}`),
    ['xray-tour:1', 'pid-namespace:3'],
  );
  assert.match(lines.join('\n'), /6 line\(s\) of .* skipped/);
});

test('a spool that cannot be written leaves the passes in memory, said once', async (t) => {
  const file = path.join(tmpSpool(t), 'no-such-dir-child'); // its parent is a file that does not exist
  const lines: string[] = [];
  const store = await storeWith(file, lines, { down: true });
  for (let i = 0; i < 3; i++) await assert.rejects(store.pass(learnerKey(`t${i}`), 'xray-tour', 0), DbError);
  assert.equal(store.pendingPasses, 3);
  assert.equal(lines.filter((l) => /cannot keep passes in/.test(l)).length, 1);
  store.database.run = (() => Promise.resolve({ changes: 0 })) as unknown as typeof store.database.run;
  await store.close();
});

test('real PostgreSQL: a pass during a crash of the database, the node stopped meanwhile, is in the database after the node restarts', {
  skip: skipReason(),
}, async (t) => {
  const pg = await startThrowawayPg();
  t.after(() => pg.stop());
  const url = await pg.createDatabase('spool');
  const file = tmpSpool(t);
  const lines: string[] = [];
  const open = () =>
    new ProgressStore(
      Database.open({ url, file: '', pool: { max: 2, connectionTimeoutMillis: 2000 } }),
      (l) => lines.push(l),
      50,
      new PassSpool(file, (l) => lines.push(l)),
    );
  const key = learnerKey('tok-pg-spool');
  const a = open();
  assert.equal(await a.pass(key, 'xray-tour', 0), true);
  // The throwaway cluster runs with synchronous_commit=off (speed): an immediate stop within ~600 ms of a commit may
  // lose it (3 x wal_writer_delay). A CHECKPOINT makes step 0 durable, so only the outage is tested here.
  const check = Database.open({ url, file: '' });
  t.after(() => check.close().catch(() => {}));
  await check.run('CHECKPOINT');
  pg.pause();
  await assert.rejects(a.pass(key, 'xray-tour', 1), DbError);
  await a.close(); // stopped while the database is still down
  assert.equal(fs.readFileSync(file, 'utf8').trim().split('\n').length, 1, 'one pass in the spool');
  pg.resume();
  const b = open();
  t.after(() => b.close().catch(() => {}));
  await until(() => b.pendingPasses === 0 && !fs.existsSync(file));
  assert.deepEqual(await b.passedSteps(key, 'xray-tour'), [0, 1]);
  const rows = await check.all<{ step: number }>('SELECT step FROM steps WHERE learner = ? ORDER BY step', [key]);
  assert.deepEqual(
    rows.map((r) => r.step),
    [0, 1],
    'in PostgreSQL, read through another handle',
  );
  assert.equal(fs.existsSync(file), false);
});
