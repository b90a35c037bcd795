// Classes, their members and when each step was opened, in the progress database (schema versioned with PRAGMA user_version).
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { CODE_ALPHABET, CODE_LENGTH, RESUME_LENGTH, type ClassLimits } from '../protocol/classes.ts';

/** The part of better-sqlite3's API used here (as in lessons/progress.ts: the package ships no types). */
export interface Statement {
  run(...args: unknown[]): { changes: number };
  get(...args: unknown[]): unknown;
  all(...args: unknown[]): unknown[];
}
export interface Db {
  prepare(sql: string): Statement;
  exec(sql: string): void;
  pragma(s: string, o?: { simple: boolean }): unknown;
  transaction<F extends (...a: never[]) => unknown>(fn: F): F;
}

/**
 * Migrations, in order; migration i takes the file from user_version i to i+1. Version 0 is the file as
 * lessons/progress.ts has always made it (learners, steps): its rows are kept as they are.
 */
const MIGRATIONS: string[] = [
  `CREATE TABLE classes (
     id TEXT PRIMARY KEY, code TEXT NOT NULL, name TEXT NOT NULL, lessons TEXT NOT NULL,
     memory TEXT NOT NULL, cpus TEXT NOT NULL, pids INTEGER NOT NULL, cap INTEGER NOT NULL,
     created_at INTEGER NOT NULL, ended_at INTEGER
   );
   -- A code names one open class; an archived class keeps its code for the record, and it may be reused.
   CREATE UNIQUE INDEX classes_open_code ON classes(code) WHERE ended_at IS NULL;
   CREATE TABLE members (
     id TEXT PRIMARY KEY, class_id TEXT NOT NULL REFERENCES classes(id), name TEXT NOT NULL, name_key TEXT NOT NULL,
     resume_hash TEXT NOT NULL UNIQUE, joined_at INTEGER NOT NULL, seen_at INTEGER NOT NULL,
     UNIQUE (class_id, name_key)
   );
   CREATE TABLE step_opened (
     learner TEXT NOT NULL, slug TEXT NOT NULL, step INTEGER NOT NULL, opened_at INTEGER NOT NULL,
     PRIMARY KEY (learner, slug, step)
   );`,
];
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the file to SCHEMA_VERSION, each step in a transaction (a crash mid-way leaves the old version). */
export function migrate(db: Db): number {
  const from = Number(db.pragma('user_version', { simple: true }));
  if (from > SCHEMA_VERSION) throw new Error(`the database is at schema version ${from}, newer than this Boxlab (${SCHEMA_VERSION})`);
  for (let v = from; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] ?? '');
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  return from;
}

export const randomCode = (n: number): string => Array.from({ length: n }, () => CODE_ALPHABET[randomInt(CODE_ALPHABET.length)]).join('');
/** Resume codes are looked up by their hash: a copy of the database does not let anyone take a learner's place. */
export const resumeHash = (code: string): string => createHash('sha256').update(`boxlab.resume.${code}`).digest('base64url');
/** Duplicate names are found case- and accent-insensitively ("Ana" and "ana" are one name on a projected roster). */
export const nameKey = (name: string): string => name.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
/** The key a member's progress is stored under in lessons/progress.ts's tables. */
export const memberKey = (memberId: string): string => `member:${memberId}`;

export interface ClassRow {
  id: string;
  code: string;
  name: string;
  lessons: string[];
  limits: ClassLimits;
  cap: number;
  createdAt: number;
  endedAt: number | null;
}
export interface MemberRow {
  id: string;
  classId: string;
  name: string;
  joinedAt: number;
  seenAt: number;
}

type RawClass = {
  id: string;
  code: string;
  name: string;
  lessons: string;
  memory: string;
  cpus: string;
  pids: number;
  cap: number;
  created_at: number;
  ended_at: number | null;
};
type RawMember = { id: string; class_id: string; name: string; joined_at: number; seen_at: number };
const toClass = (r: RawClass): ClassRow => ({
  id: r.id,
  code: r.code,
  name: r.name,
  lessons: JSON.parse(r.lessons) as string[],
  limits: { memory: r.memory, cpuLimit: r.cpus, pids: r.pids },
  cap: r.cap,
  createdAt: r.created_at,
  endedAt: r.ended_at,
});
const toMember = (r: RawMember): MemberRow => ({ id: r.id, classId: r.class_id, name: r.name, joinedAt: r.joined_at, seenAt: r.seen_at });

const QUERIES = [
  'insertClass',
  'classById',
  'openByCode',
  'allClasses',
  'end',
  'setCap',
  'insertMember',
  'memberByResume',
  'memberById',
  'nameTaken',
  'members',
  'countMembers',
  'seen',
  'open',
  'opened',
  'passed',
] as const;

export class ClassStore {
  private readonly q: Record<(typeof QUERIES)[number], Statement>;

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {
    migrate(db);
    this.q = {
      insertClass: db.prepare(
        'INSERT INTO classes (id, code, name, lessons, memory, cpus, pids, cap, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      classById: db.prepare('SELECT * FROM classes WHERE id = ?'),
      openByCode: db.prepare('SELECT * FROM classes WHERE code = ? AND ended_at IS NULL'),
      allClasses: db.prepare('SELECT * FROM classes ORDER BY created_at DESC'),
      end: db.prepare('UPDATE classes SET ended_at = ? WHERE id = ? AND ended_at IS NULL'),
      setCap: db.prepare('UPDATE classes SET cap = ? WHERE id = ? AND ended_at IS NULL'),
      insertMember: db.prepare(
        'INSERT INTO members (id, class_id, name, name_key, resume_hash, joined_at, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      memberByResume: db.prepare('SELECT * FROM members WHERE resume_hash = ?'),
      memberById: db.prepare('SELECT * FROM members WHERE id = ?'),
      nameTaken: db.prepare('SELECT 1 FROM members WHERE class_id = ? AND name_key = ?'),
      members: db.prepare('SELECT * FROM members WHERE class_id = ? ORDER BY joined_at, id'),
      countMembers: db.prepare('SELECT COUNT(*) AS n FROM members WHERE class_id = ?'),
      seen: db.prepare('UPDATE members SET seen_at = ? WHERE id = ?'),
      open: db.prepare('INSERT OR IGNORE INTO step_opened (learner, slug, step, opened_at) VALUES (?, ?, ?, ?)'),
      opened: db.prepare('SELECT slug, step, opened_at AS at FROM step_opened WHERE learner = ?'),
      passed: db.prepare('SELECT slug, step, passed_at AS at FROM steps WHERE learner = ?'),
    };
  }

  /** A new open class with a code no other open class has. */
  createClass(c: { name: string; lessons: string[]; limits: ClassLimits; cap: number }): ClassRow {
    const id = randomBytes(8).toString('hex');
    for (let attempt = 0; ; attempt++) {
      const code = randomCode(CODE_LENGTH);
      try {
        this.q.insertClass.run(
          id,
          code,
          c.name,
          JSON.stringify(c.lessons),
          c.limits.memory,
          c.limits.cpuLimit,
          c.limits.pids,
          c.cap,
          this.now(),
        );
        return this.getClass(id)!;
      } catch (err) {
        if (attempt >= 20 || !/UNIQUE/.test((err as Error).message)) throw err;
      }
    }
  }

  getClass(id: string): ClassRow | undefined {
    const r = this.q.classById.get(id) as RawClass | undefined;
    return r && toClass(r);
  }
  openClassByCode(code: string): ClassRow | undefined {
    const r = this.q.openByCode.get(code) as RawClass | undefined;
    return r && toClass(r);
  }
  classes(): ClassRow[] {
    return (this.q.allClasses.all() as RawClass[]).map(toClass);
  }
  /** Archives the class; false if it was already archived (or does not exist). */
  endClass(id: string): boolean {
    return this.q.end.run(this.now(), id).changes > 0;
  }

  /** A new learner cap for an open class; false if it is archived (or does not exist). */
  setCap(id: string, cap: number): boolean {
    return this.q.setCap.run(cap, id).changes > 0;
  }

  memberCount(classId: string): number {
    return (this.q.countMembers.get(classId) as { n: number }).n;
  }
  members(classId: string): MemberRow[] {
    return (this.q.members.all(classId) as RawMember[]).map(toMember);
  }
  member(id: string): MemberRow | undefined {
    const r = this.q.memberById.get(id) as RawMember | undefined;
    return r && toMember(r);
  }
  memberByResume(code: string): MemberRow | undefined {
    const r = this.q.memberByResume.get(resumeHash(code)) as RawMember | undefined;
    return r && toMember(r);
  }

  /**
   * A new member under this name, or "name (2)", "name (3)"… when it is taken in the class (the check and the insert
   * are one transaction: two learners typing the same name at once get two names). Returns the member and the resume
   * code, which exists only here and in the learner's browser.
   */
  addMember(classId: string, name: string): { member: MemberRow; resume: string } {
    return this.db.transaction(() => {
      let chosen = name;
      for (let n = 2; this.q.nameTaken.get(classId, nameKey(chosen)); n++) chosen = `${name} (${n})`;
      const id = randomBytes(8).toString('hex');
      const resume = randomCode(RESUME_LENGTH);
      const t = this.now();
      this.q.insertMember.run(id, classId, chosen, nameKey(chosen), resumeHash(resume), t, t);
      return { member: this.member(id)!, resume };
    })();
  }

  seen(memberId: string): void {
    this.q.seen.run(this.now(), memberId);
  }

  /** The first time a learner opened this step (kept: the time a step took is passed - opened). */
  opened(key: string, slug: string, step: number): void {
    this.q.open.run(key, slug, step, this.now());
  }

  /** Per (slug, step): when opened and when passed, for one progress key. */
  stepTimes(key: string): Map<string, { openedAt: number | null; passedAt: number | null }> {
    const out = new Map<string, { openedAt: number | null; passedAt: number | null }>();
    const at = (slug: string, step: number) => {
      const k = `${slug}#${step}`;
      let v = out.get(k);
      if (!v) out.set(k, (v = { openedAt: null, passedAt: null }));
      return v;
    };
    for (const r of this.q.opened.all(key) as { slug: string; step: number; at: number }[]) at(r.slug, r.step).openedAt = r.at;
    for (const r of this.q.passed.all(key) as { slug: string; step: number; at: number }[]) at(r.slug, r.step).passedAt = r.at;
    return out;
  }
}
