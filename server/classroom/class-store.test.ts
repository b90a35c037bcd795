// Class store and its pure rules: schema migration from today's progress file, codes, names, resume codes, CSV escaping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { CODE_ALPHABET, cleanName, normalizeCode } from '../protocol/classes.ts';
import { ProgressStore } from '../lessons/progress.ts';
import { ClassStore, SCHEMA_VERSION, memberKey, type Db } from './class-store.ts';
import { classCsv, csvField, toCsv } from './csv.ts';

const require = createRequire(import.meta.url);
const LIMITS = { memory: '128M', cpuLimit: '0.25', pids: 64 };

function memoryStore(now = () => Date.now()) {
  const progress = new ProgressStore(':memory:');
  return { progress, store: new ClassStore(progress.database as Db, now) };
}

test('a database as it exists today migrates: old progress kept, new tables, user_version set', () => {
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
    assert.equal(db.pragma('user_version', { simple: true }), 0);
    const store = new ClassStore(db);
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.deepEqual(progress.passedSteps('k1', 'xray-tour'), [0], 'old progress is still there');
    const cls = store.createClass({ name: 'A', lessons: [], limits: LIMITS, cap: 3 });
    progress.close();
    // Opened again (a restart): no migration runs twice, the class is there.
    const again = new ProgressStore(file);
    const store2 = new ClassStore(again.database as Db);
    assert.equal(store2.getClass(cls.id)?.name, 'A');
    assert.deepEqual(store2.getClass(cls.id)?.limits, LIMITS);
    again.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a database from a newer Boxlab is refused, not damaged', () => {
  const { progress } = memoryStore();
  const db = progress.database as Db;
  db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
  assert.throws(() => new ClassStore(db), /newer than this Boxlab/);
});

test('join codes: 6 symbols without 0/O/1/I/L, case-insensitive, spaces and dashes ignored', () => {
  for (const bad of '0O1IL') assert.ok(!CODE_ALPHABET.includes(bad));
  const { store } = memoryStore();
  const codes = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const c = store.createClass({ name: `c${i}`, lessons: [], limits: LIMITS, cap: 1 }).code;
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

test('members: duplicate names become "name (2)" (case- and accent-insensitive), resume codes find them', () => {
  const { store } = memoryStore();
  const a = store.createClass({ name: 'A', lessons: [], limits: LIMITS, cap: 10 });
  const b = store.createClass({ name: 'B', lessons: [], limits: LIMITS, cap: 10 });
  const m1 = store.addMember(a.id, 'Ana');
  const m2 = store.addMember(a.id, 'ana');
  const m3 = store.addMember(a.id, 'Äna');
  const other = store.addMember(b.id, 'Ana');
  assert.deepEqual([m1.member.name, m2.member.name, m3.member.name, other.member.name], ['Ana', 'ana (2)', 'Äna (3)', 'Ana']);
  assert.match(m1.resume, /^[A-HJKMNP-Z2-9]{10}$/);
  assert.equal(store.memberByResume(m2.resume)?.id, m2.member.id);
  assert.equal(store.memberByResume('AAAAAAAAAA'), undefined);
  assert.equal(store.memberCount(a.id), 3);
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

test('class CSV: one row per learner and step, times and seconds, names with commas, quotes and newlines', () => {
  // progress.pass() stamps Date.now(): the step was opened 42 s before it on the store's clock.
  let now = Date.now() - 42_000;
  const { store, progress } = memoryStore(() => now);
  const cls = store.createClass({ name: 'Class, "one"', lessons: ['l1'], limits: LIMITS, cap: 10 });
  const tricky = store.addMember(cls.id, 'x').member; // names cannot hold newlines (cleanName); the CSV still must cope
  const bob = store.addMember(cls.id, '=cmd|"/c calc"!A1').member;
  store.opened(memberKey(bob.id), 'l1', 0);
  now = Date.now();
  progress.pass(memberKey(bob.id), 'l1', 0);
  const csv = classCsv({
    cls,
    lesson: () => ({ title: 'Lesson, 1', steps: ['First\nstep', 'Second'] }),
    members: [
      { name: 'Al "the" pal,\nJr', joinedAt: now, times: store.stepTimes(memberKey(tricky.id)) },
      { name: bob.name, joinedAt: bob.joinedAt, times: store.stepTimes(memberKey(bob.id)) },
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
