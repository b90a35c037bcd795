// Learner progress in SQLite (better-sqlite3): steps passed per lesson, keyed by the SHA-256 of the learner's token; survives restarts.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { LessonProgress } from '../protocol/lessons.ts';
import { fromEnv } from '../protocol/settings.ts';

/** The part of better-sqlite3's API used here (the package ships no types). */
interface Statement {
  run(...args: unknown[]): { changes: number };
  get(...args: unknown[]): unknown;
  all(...args: unknown[]): unknown[];
}
interface Db {
  prepare(sql: string): Statement;
  exec(sql: string): void;
  pragma(s: string): unknown;
  close(): void;
}

const require = createRequire(import.meta.url);

export function defaultDbPath(env: Record<string, string | undefined> = process.env): string {
  return path.join(fromEnv('home', env), 'boxlab.db');
}

/** A token never reaches the database: a copy of the file must not let anyone act as a learner. */
export const learnerKey = (token: string): string => createHash('sha256').update(token).digest('base64url');

const SCHEMA = `
CREATE TABLE IF NOT EXISTS learners (id TEXT PRIMARY KEY, name TEXT, created_at INTEGER NOT NULL, seen_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS steps (
  learner TEXT NOT NULL, slug TEXT NOT NULL, step INTEGER NOT NULL, passed_at INTEGER NOT NULL,
  PRIMARY KEY (learner, slug, step)
);`;

export class ProgressStore {
  private readonly db: Db;
  private readonly q: Record<'seen' | 'pass' | 'list' | 'bySlug', Statement>;
  /** False when the file could not be opened and an in-memory database stands in (progress lost on restart). */
  readonly persistent: boolean;

  constructor(file: string, log: (line: string) => void = () => {}) {
    const Database = require('better-sqlite3') as new (f: string) => Db;
    let db: Db;
    let persistent = file !== ':memory:';
    try {
      // One level only: Node's recursive mkdir spins forever on paths under /proc (ENOENT on a parent that exists).
      if (persistent && !fs.existsSync(path.dirname(file))) fs.mkdirSync(path.dirname(file), { mode: 0o700 });
      db = new Database(file);
      if (persistent) fs.chmodSync(file, 0o600);
      // WAL: several server processes (tests, a restart overlapping the old one) may open the same file.
      db.pragma('journal_mode = WAL');
      db.pragma('busy_timeout = 2000');
    } catch (err) {
      log(`progress: cannot open ${file} (${(err as Error).message}); keeping progress in memory only`);
      db = new Database(':memory:');
      persistent = false;
    }
    db.exec(SCHEMA);
    this.db = db;
    this.persistent = persistent;
    this.q = {
      seen: db.prepare(`INSERT INTO learners (id, name, created_at, seen_at) VALUES (?, ?, ?, ?)
        ON CONFLICT(id) DO UPDATE SET seen_at = excluded.seen_at, name = COALESCE(excluded.name, learners.name)`),
      pass: db.prepare('INSERT OR IGNORE INTO steps (learner, slug, step, passed_at) VALUES (?, ?, ?, ?)'),
      list: db.prepare('SELECT slug, step, passed_at AS at FROM steps WHERE learner = ? ORDER BY slug, step'),
      bySlug: db.prepare('SELECT step FROM steps WHERE learner = ? AND slug = ?'),
    };
  }

  /** Records that this learner is active (and their name, if given). */
  touch(key: string, name?: string): void {
    const now = Date.now();
    this.q.seen.run(key, name ?? null, now, now);
  }

  /** Records a passed step; returns true if it was new. */
  pass(key: string, slug: string, step: number): boolean {
    return this.q.pass.run(key, slug, step, Date.now()).changes > 0;
  }

  passedSteps(key: string, slug: string): number[] {
    return (this.q.bySlug.all(key, slug) as { step: number }[]).map((r) => r.step).sort((a, b) => a - b);
  }

  /** Per lesson: passed steps and whether all `stepCounts[slug]` steps are passed. */
  progress(key: string, stepCounts: Record<string, number>): Record<string, LessonProgress> {
    const out: Record<string, LessonProgress> = {};
    for (const r of this.q.list.all(key) as { slug: string; step: number; at: number }[]) {
      const p = (out[r.slug] ??= { steps: [], done: false, updatedAt: 0 });
      p.steps.push(r.step);
      p.updatedAt = Math.max(p.updatedAt, r.at);
    }
    for (const [slug, p] of Object.entries(out)) {
      const n = stepCounts[slug];
      p.done = n !== undefined && Array.from({ length: n }, (_, i) => i).every((i) => p.steps.includes(i));
    }
    return out;
  }

  /** The open database, for tables of other layers in the same file (server/classroom/class-store.ts). */
  get database(): unknown {
    return this.db;
  }

  close(): void {
    this.db.close();
  }
}
