// One schema for both engines: the base tables, then numbered migrations (common SQL, per-engine text only where it must differ).
import type { SqlEngine, SqlRunner } from './sql.ts';

/** SQL for both engines, or a text per engine where their dialects part. */
type Sql = string | { sqlite: string; postgres: string };

/**
 * Version 0: the tables lessons/progress.ts has always made (learners, steps); an SQLite file of today is at version 0
 * with them, and keeps its rows. Times are milliseconds since 1970: BIGINT (PostgreSQL's INTEGER is 32 bits; for
 * SQLite both names mean its one integer type).
 */
const BASE: Sql = `
CREATE TABLE IF NOT EXISTS learners (id TEXT PRIMARY KEY, name TEXT, created_at BIGINT NOT NULL, seen_at BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS steps (
  learner TEXT NOT NULL, slug TEXT NOT NULL, step INTEGER NOT NULL, passed_at BIGINT NOT NULL,
  PRIMARY KEY (learner, slug, step)
);`;

/** Migrations, in order; migration i takes the database from version i to i+1. Never edit one that has shipped. */
const MIGRATIONS: Sql[] = [
  `CREATE TABLE classes (
     id TEXT PRIMARY KEY, code TEXT NOT NULL, name TEXT NOT NULL, lessons TEXT NOT NULL,
     memory TEXT NOT NULL, cpus TEXT NOT NULL, pids INTEGER NOT NULL, cap INTEGER NOT NULL,
     created_at BIGINT NOT NULL, ended_at BIGINT
   );
   -- A code names one open class; an archived class keeps its code for the record, and it may be reused.
   CREATE UNIQUE INDEX classes_open_code ON classes(code) WHERE ended_at IS NULL;
   CREATE TABLE members (
     id TEXT PRIMARY KEY, class_id TEXT NOT NULL REFERENCES classes(id), name TEXT NOT NULL, name_key TEXT NOT NULL,
     resume_hash TEXT NOT NULL UNIQUE, joined_at BIGINT NOT NULL, seen_at BIGINT NOT NULL,
     UNIQUE (class_id, name_key)
   );
   CREATE TABLE step_opened (
     learner TEXT NOT NULL, slug TEXT NOT NULL, step INTEGER NOT NULL, opened_at BIGINT NOT NULL,
     PRIMARY KEY (learner, slug, step)
   );`,
];
export const SCHEMA_VERSION = MIGRATIONS.length;

const text = (sql: Sql, kind: SqlEngine['kind']): string => (typeof sql === 'string' ? sql : sql[kind]);

/** Where the version is kept: SQLite's header (PRAGMA user_version, as before), PostgreSQL's schema_version table. */
const VERSION = {
  sqlite: {
    read: async (q: SqlRunner) => Number((await q.get<{ user_version: number }>('PRAGMA user_version'))?.user_version ?? 0),
    write: (q: SqlRunner, v: number) => q.exec(`PRAGMA user_version = ${Number(v)}`),
  },
  postgres: {
    read: async (q: SqlRunner) => {
      await q.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
      return Number((await q.get<{ version: number }>('SELECT version FROM schema_version'))?.version ?? 0);
    },
    write: async (q: SqlRunner, v: number) => {
      await q.exec('DELETE FROM schema_version');
      await q.run('INSERT INTO schema_version (version) VALUES (?)', [v]);
    },
  },
};

/** The schema version the database is at now (0 for a database made before migrations, or an empty one). */
export function schemaVersion(db: SqlEngine): Promise<number> {
  return db.tx((q) => VERSION[db.kind].read(q));
}

/**
 * Brings the database to SCHEMA_VERSION in one transaction under the migration lock (a crash mid-way leaves the old
 * version; a second node starting at once waits, then finds nothing to do). Returns the version it found.
 */
export function migrate(db: SqlEngine): Promise<number> {
  const v = VERSION[db.kind];
  return db.tx(
    async (q) => {
      const from = await v.read(q);
      if (from > SCHEMA_VERSION) throw new Error(`the database is at schema version ${from}, newer than this Boxlab (${SCHEMA_VERSION})`);
      if (from === SCHEMA_VERSION) return from;
      await q.exec(text(BASE, db.kind));
      for (let i = from; i < SCHEMA_VERSION; i++) await q.exec(text(MIGRATIONS[i]!, db.kind));
      await v.write(q, SCHEMA_VERSION);
      return from;
    },
    { lock: true },
  );
}
