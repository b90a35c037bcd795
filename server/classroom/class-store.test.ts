// Class store and its pure rules: schema migration from today's progress file, codes, names, resume codes, CSV escaping.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { CODE_ALPHABET, cleanName, normalizeCode } from '../protocol/classes.ts';
import { ProgressStore } from '../lessons/progress.ts';
import { ClassStore, SCHEMA_VERSION, memberKey, type Db } from './class-store.ts';
import { migrate, schemaVersion } from '../db/schema.ts';
import { bothEngines, closing, type Open } from '../db/testing/engines.ts';
import { classCsv, csvField, toCsv } from './csv.ts';

const require = createRequire(import.meta.url);
const LIMITS = { memory: '128M', cpuLimit: '0.25', pids: 64 };

/** The same on each engine: a fresh database of the test's own (server/db/testing/engines.ts). */
function storeOn(t: TestContext, open: Open, now = () => Date.now()) {
  const progress = new ProgressStore(closing(t, open)());
  return { progress, store: new ClassStore(progress.database, now) };
}

test('a database as it exists today migrates: old progress kept, new tables, user_version set', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlab-mig-'));
  try {
    const file = path.join(dir, 'boxlab.db');
    // The file as lessons/progress.ts has always made it (user_version 0), with one learner's passed step.
    const Database = require('better-sqlite3') as new (f: string) => Db & { close(): void };
    const old = new Database(file);
    old.exec(`CREATE TABLE learners (id TEXT PRIMARY KEY, name TEXT, created_at INTEGER NOT NULL, seen_at INTEGER NOT NULL);
      CREATE TABLE steps (learner TEXT NOT NULL, slug TEXT NOT NULL, step INTEGER NOT NULL, passed_at INTEGER NOT NULL, PRIMARY KEY (learner, slug, step));
      INSERT INTO learners VALUES ('k1', 'Old', 1, 2); INSERT INTO steps VALUES ('k1', 'xray-tour', 0, 1234);`);
    old.close();
    const progress = new ProgressStore(file);
    const db = progress.database as Db;
    assert.equal(await schemaVersion(db.engine), 0);
    const store = new ClassStore(db);
    await db.ready(); // the first query's migration, made explicit
    assert.equal(await schemaVersion(db.engine), SCHEMA_VERSION);
    assert.deepEqual(await progress.passedSteps('k1', 'xray-tour'), [0], 'old progress is still there');
    const cls = await store.createClass({ name: 'A', lessons: [], limits: LIMITS, cap: 3 });
    await progress.close();
    // Opened again (a restart): no migration runs twice, the class is there.
    const again = new ProgressStore(file);
    const store2 = new ClassStore(again.database as Db);
    assert.equal((await store2.getClass(cls.id))?.name, 'A');
    assert.deepEqual((await store2.getClass(cls.id))?.limits, LIMITS);
    await again.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

bothEngines('a database from a newer Boxlab is refused, not damaged', async (t, open) => {
  const { progress, store } = storeOn(t, open);
  const db = progress.database;
  await db.ready();
  // A newer Boxlab's version mark, written the way each engine keeps it.
  if (db.kind === 'sqlite') await db.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
  else await db.run('UPDATE schema_version SET version = ?', [SCHEMA_VERSION + 1]);
  const other = new ClassStore(closing(t, open)());
  await assert.rejects(other.getClass('x'), /newer than this Boxlab/);
  assert.equal(await schemaVersion(db.engine), SCHEMA_VERSION + 1, 'left as it was');
  assert.equal(await store.getClass('x'), undefined, 'a node already running goes on');
});

bothEngines('nodes starting at once on an empty database: one migrates, the others wait and find it done', async (t, open) => {
  const dbs = [1, 2, 3].map(() => closing(t, open)());
  const from = await Promise.all(dbs.map((d) => migrate(d.engine)));
  assert.deepEqual(
    from.sort((a, b) => a - b),
    [0, SCHEMA_VERSION, SCHEMA_VERSION],
    'exactly one saw version 0',
  );
  assert.equal(await schemaVersion(dbs[0]!.engine), SCHEMA_VERSION);
});

bothEngines('join codes: 6 symbols without 0/O/1/I/L, case-insensitive, spaces and dashes ignored', async (t, open) => {
  for (const bad of '0O1IL') assert.ok(!CODE_ALPHABET.includes(bad));
  const { store } = storeOn(t, open);
  const codes = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const c = (await store.createClass({ name: `c${i}`, lessons: [], limits: LIMITS, cap: 1 })).code;
    assert.match(c, /^[A-HJKMNP-Z2-9]{6}$/);
    codes.add(c);
  }
  assert.equal(codes.size, 200, 'open classes never share a code');
  assert.equal(normalizeCode('abc-234'), 'ABC234');
  assert.equal(normalizeCode(' abc 234 '), 'ABC234');
  assert.equal(normalizeCode('ABC0234'), null);
  assert.equal(normalizeCode('ABCO23'), null, 'O is not a code symbol');
  assert.equal(normalizeCode('ABC23'), null);
});

test('display names: trimmed, collapsed, NFC; control, bidi and zero-width characters refused; 40 at most', () => {
  assert.deepEqual(cleanName('  Ana   María '), { ok: true, name: 'Ana María' });
  assert.deepEqual(cleanName('Jose\u0301'), { ok: true, name: 'José' });
  for (const bad of ['a\u0007b', 'evil\u202Egnp.exe', 'zero\u200Bwidth', 'line\nbreak', '\u0085x'])
    assert.equal(cleanName(bad).ok, false, JSON.stringify(bad));
  assert.equal(cleanName('   ').ok, false);
  assert.equal(cleanName('x'.repeat(41)).ok, false);
  assert.equal(cleanName('😀'.repeat(40)).ok, true, 'length counts characters, not UTF-16 units');
});

bothEngines('members: duplicate names become "name (2)" (case- and accent-insensitive), resume codes find them', async (t, open) => {
  const { store } = storeOn(t, open);
  const a = await store.createClass({ name: 'A', lessons: [], limits: LIMITS, cap: 10 });
  const b = await store.createClass({ name: 'B', lessons: [], limits: LIMITS, cap: 10 });
  const m1 = await store.addMember(a.id, 'Ana');
  const m2 = await store.addMember(a.id, 'ana');
  const m3 = await store.addMember(a.id, 'Äna');
  const other = await store.addMember(b.id, 'Ana');
  assert.deepEqual([m1.member.name, m2.member.name, m3.member.name, other.member.name], ['Ana', 'ana (2)', 'Äna (3)', 'Ana']);
  assert.match(m1.resume, /^[A-HJKMNP-Z2-9]{10}$/);
  assert.equal((await store.memberByResume(m2.resume))?.id, m2.member.id);
  assert.equal(await store.memberByResume('AAAAAAAAAA'), undefined);
  assert.equal(await store.memberCount(a.id), 3);
});

bothEngines('two nodes add the same name at once: two members, two names; archive and cap seen by both', async (t, open) => {
  const [x, y] = [storeOn(t, open).store, storeOn(t, open).store];
  const cls = await x.createClass({ name: 'A', lessons: ['l1'], limits: LIMITS, cap: 10 });
  const made = await Promise.all([x, y, x, y].map((s) => s.addMember(cls.id, 'Bo')));
  assert.deepEqual(made.map((m) => m.member.name).sort(), ['Bo', 'Bo (2)', 'Bo (3)', 'Bo (4)']);
  assert.equal(await y.memberCount(cls.id), 4);
  assert.equal((await y.openClassByCode(cls.code))?.id, cls.id, 'the code works on the other node');
  assert.equal(await y.setCap(cls.id, 20), true);
  assert.equal((await x.getClass(cls.id))?.cap, 20);
  assert.equal(await x.endClass(cls.id), true);
  assert.equal(await y.endClass(cls.id), false, 'already archived, by the other node');
  assert.equal(await y.openClassByCode(cls.code), undefined);
  assert.deepEqual(
    (await y.classes()).map((c) => c.id),
    [cls.id],
  );
});

test('CSV: RFC 4180 quoting of commas, quotes and newlines; OWASP formula prefixes', () => {
  assert.equal(csvField('plain'), 'plain');
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField('two\nlines'), '"two\nlines"');
  for (const f of ['=1+1', '+1', '-1', '@SUM(A1)', '\tx']) assert.equal(csvField(f), `'${f}`, f);
  assert.equal(csvField('\rx'), `"'\rx"`, 'a leading CR is defused and quoted');
  assert.equal(csvField('=HYPERLINK("http://x","y")'), `"'=HYPERLINK(""http://x"",""y"")"`);
  assert.equal(csvField(-3), '-3', 'numbers are numbers');
  assert.equal(
    toCsv([
      ['a', 'b'],
      [1, null],
    ]),
    'a,b\r\n1,\r\n',
  );
});

bothEngines('class CSV: one row per learner and step, times and seconds, names with commas, quotes and newlines', async (t, open) => {
  // progress.pass() stamps Date.now(): the step was opened 42 s before it on the store's clock.
  let now = Date.now() - 42_000;
  const { store, progress } = storeOn(t, open, () => now);
  const cls = await store.createClass({ name: 'Class, "one"', lessons: ['l1'], limits: LIMITS, cap: 10 });
  const tricky = (await store.addMember(cls.id, 'x')).member; // names cannot hold newlines (cleanName); the CSV still must cope
  const bob = (await store.addMember(cls.id, '=cmd|"/c calc"!A1')).member;
  await store.opened(memberKey(bob.id), 'l1', 0);
  await store.opened(memberKey(bob.id), 'l1', 0); // the first time is kept
  now = Date.now();
  await progress.pass(memberKey(bob.id), 'l1', 0);
  const csv = classCsv({
    cls,
    lesson: () => ({ title: 'Lesson, 1', steps: ['First\nstep', 'Second'] }),
    members: [
      { name: 'Al "the" pal,\nJr', joinedAt: now, times: await store.stepTimes(memberKey(tricky.id)) },
      { name: bob.name, joinedAt: bob.joinedAt, times: await store.stepTimes(memberKey(bob.id)) },
    ],
  });
  const parsed = parseCsv(csv);
  assert.equal(parsed.length, 1 + 2 * 2, 'header + 2 learners x 2 steps');
  const rows = parsed.map((r) => (i: number) => r[i] ?? '<missing>');
  const head = parsed[0] ?? [];
  assert.deepEqual(head.slice(0, 3), ['class', 'class_code', 'learner']);
  assert.equal(rows[1]!(0), 'Class, "one"');
  assert.equal(rows[1]!(2), 'Al "the" pal,\nJr');
  assert.equal(rows[1]!(7), 'First\nstep');
  assert.equal(rows[1]!(8), 'not started');
  assert.equal(rows[3]!(2), `'=cmd|"/c calc"!A1`, 'a formula is defused');
  assert.equal(rows[3]!(8), 'passed');
  assert.ok(['41', '42', '43'].includes(rows[3]!(11)), `seconds ${rows[3]!(11)}`);
  assert.equal(rows[4]!(8), 'not started');
});

/** A strict RFC 4180 reader (the test's own, so a bug in csv.ts cannot hide behind a matching bug). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let i = 0;
  while (i < text.length) {
    let field = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        assert.ok(q >= 0, 'unterminated quote');
        field += text.slice(i, q);
        i = q + 1;
        if (text[i] === '"') (field += '"'), i++;
        else break;
      }
    } else {
      const m = /^[^,\r\n"]*/.exec(text.slice(i))![0];
      field = m;
      i += m.length;
    }
    row.push(field);
    if (text[i] === ',') i++;
    else {
      assert.equal(text.slice(i, i + 2), '\r\n', `row end at ${i}`);
      i += 2;
      rows.push(row);
      row = [];
    }
  }
  return rows;
}
