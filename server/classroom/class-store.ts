// Classes, their members and when each step was opened, in the progress database (its schema: server/db/schema.ts).
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { CODE_ALPHABET, CODE_LENGTH, RESUME_LENGTH, type ClassLimits } from '../protocol/classes.ts';
import type { Database } from '../db/database.ts';
import { SCHEMA_VERSION } from '../db/schema.ts';
import { DbError, type SqlRunner } from '../db/sql.ts';

/** The database the class tables live in, beside the progress tables (server/db/: SQLite or PostgreSQL). */
export type Db = Database;
export { SCHEMA_VERSION };

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

const SQL = {
  insertClass: 'INSERT INTO classes (id, code, name, lessons, memory, cpus, pids, cap, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  classById: 'SELECT * FROM classes WHERE id = ?',
  openByCode: 'SELECT * FROM classes WHERE code = ? AND ended_at IS NULL',
  allClasses: 'SELECT * FROM classes ORDER BY created_at DESC',
  end: 'UPDATE classes SET ended_at = ? WHERE id = ? AND ended_at IS NULL',
  setCap: 'UPDATE classes SET cap = ? WHERE id = ? AND ended_at IS NULL',
  insertMember: 'INSERT INTO members (id, class_id, name, name_key, resume_hash, joined_at, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  memberByResume: 'SELECT * FROM members WHERE resume_hash = ?',
  memberById: 'SELECT * FROM members WHERE id = ?',
  nameTaken: 'SELECT 1 AS taken FROM members WHERE class_id = ? AND name_key = ?',
  members: 'SELECT * FROM members WHERE class_id = ? ORDER BY joined_at, id',
  countMembers: 'SELECT COUNT(*) AS n FROM members WHERE class_id = ?',
  seen: 'UPDATE members SET seen_at = ? WHERE id = ?',
  open: 'INSERT INTO step_opened (learner, slug, step, opened_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
  opened: 'SELECT slug, step, opened_at AS at FROM step_opened WHERE learner = ?',
  passed: 'SELECT slug, step, passed_at AS at FROM steps WHERE learner = ?',
} as const;

const isUnique = (err: unknown): boolean => err instanceof DbError && err.unique;

export class ClassStore {
  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new open class with a code no other open class has. */
  async createClass(c: { name: string; lessons: string[]; limits: ClassLimits; cap: number }): Promise<ClassRow> {
    const id = randomBytes(8).toString('hex');
    for (let attempt = 0; ; attempt++) {
      const code = randomCode(CODE_LENGTH);
      try {
        await this.db.run(SQL.insertClass, [
          id,
          code,
          c.name,
          JSON.stringify(c.lessons),
          c.limits.memory,
          c.limits.cpuLimit,
          c.limits.pids,
          c.cap,
          this.now(),
        ]);
        return (await this.getClass(id))!;
      } catch (err) {
        if (attempt >= 20 || !isUnique(err)) throw err;
      }
    }
  }

  async getClass(id: string): Promise<ClassRow | undefined> {
    const r = await this.db.get<RawClass>(SQL.classById, [id]);
    return r && toClass(r);
  }
  async openClassByCode(code: string): Promise<ClassRow | undefined> {
    const r = await this.db.get<RawClass>(SQL.openByCode, [code]);
    return r && toClass(r);
  }
  async classes(): Promise<ClassRow[]> {
    return (await this.db.all<RawClass>(SQL.allClasses)).map(toClass);
  }
  /** Archives the class; false if it was already archived (or does not exist). */
  async endClass(id: string): Promise<boolean> {
    return (await this.db.run(SQL.end, [this.now(), id])).changes > 0;
  }

  /** A new learner cap for an open class; false if it is archived (or does not exist). */
  async setCap(id: string, cap: number): Promise<boolean> {
    return (await this.db.run(SQL.setCap, [cap, id])).changes > 0;
  }

  async memberCount(classId: string): Promise<number> {
    return Number((await this.db.get<{ n: number }>(SQL.countMembers, [classId]))?.n ?? 0);
  }
  async members(classId: string): Promise<MemberRow[]> {
    return (await this.db.all<RawMember>(SQL.members, [classId])).map(toMember);
  }
  async member(id: string, q: SqlRunner = this.db): Promise<MemberRow | undefined> {
    const r = await q.get<RawMember>(SQL.memberById, [id]);
    return r && toMember(r);
  }
  async memberByResume(code: string): Promise<MemberRow | undefined> {
    const r = await this.db.get<RawMember>(SQL.memberByResume, [resumeHash(code)]);
    return r && toMember(r);
  }

  /**
   * A new member under this name, or "name (2)", "name (3)"… when it is taken in the class. The check and the insert
   * are one transaction, and a UNIQUE refusal (another node took the name between them: PostgreSQL's transactions do
   * not lock the rows they only read) starts it again: two learners typing the same name at once get two names.
   * Returns the member and the resume code, which exists only here and in the learner's browser.
   */
  async addMember(classId: string, name: string): Promise<{ member: MemberRow; resume: string }> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.db.tx(async (q) => {
          let chosen = name;
          for (let n = 2; await q.get(SQL.nameTaken, [classId, nameKey(chosen)]); n++) chosen = `${name} (${n})`;
          const id = randomBytes(8).toString('hex');
          const resume = randomCode(RESUME_LENGTH);
          const t = this.now();
          await q.run(SQL.insertMember, [id, classId, chosen, nameKey(chosen), resumeHash(resume), t, t]);
          return { member: (await this.member(id, q))!, resume };
        });
      } catch (err) {
        if (attempt >= 20 || !isUnique(err)) throw err;
      }
    }
  }

  async seen(memberId: string): Promise<void> {
    await this.db.run(SQL.seen, [this.now(), memberId]);
  }

  /** The first time a learner opened this step (kept: the time a step took is passed - opened). */
  async opened(key: string, slug: string, step: number): Promise<void> {
    await this.db.run(SQL.open, [key, slug, step, this.now()]);
  }

  /** Per (slug, step): when opened and when passed, for one progress key. */
  async stepTimes(key: string): Promise<Map<string, { openedAt: number | null; passedAt: number | null }>> {
    const out = new Map<string, { openedAt: number | null; passedAt: number | null }>();
    const at = (slug: string, step: number) => {
      const k = `${slug}#${step}`;
      let v = out.get(k);
      if (!v) out.set(k, (v = { openedAt: null, passedAt: null }));
      return v;
    };
    const [opened, passed] = await Promise.all([
      this.db.all<{ slug: string; step: number; at: number }>(SQL.opened, [key]),
      this.db.all<{ slug: string; step: number; at: number }>(SQL.passed, [key]),
    ]);
    for (const r of opened) at(r.slug, r.step).openedAt = r.at;
    for (const r of passed) at(r.slug, r.step).passedAt = r.at;
    return out;
  }
}
