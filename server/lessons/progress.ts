// Learner progress (SQLite file, or PostgreSQL in a cluster): steps passed per lesson, keyed by the SHA-256 of the learner's token.
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { LessonProgress } from '../protocol/lessons.ts';
import { fromEnv } from '../protocol/settings.ts';
import { Database } from '../db/database.ts';

export function defaultDbPath(env: Record<string, string | undefined> = process.env): string {
  return path.join(fromEnv('home', env), 'boxlab.db');
}

/** A token never reaches the database: a copy of the file must not let anyone act as a learner. */
export const learnerKey = (token: string): string => createHash('sha256').update(token).digest('base64url');

export class ProgressStore {
  readonly database: Database;

  /** A file (the SQLite default; ':memory:' for tests) or an open database (PostgreSQL in a cluster, server/db/). */
  constructor(db: string | Database, log: (line: string) => void = () => {}) {
    this.database = typeof db === 'string' ? Database.open({ file: db }, log) : db;
  }

  /** False when the file could not be opened and an in-memory database stands in (progress lost on restart). */
  get persistent(): boolean {
    return this.database.persistent;
  }

  /** Records that this learner is active (and their name, if given). */
  async touch(key: string, name?: string): Promise<void> {
    const now = Date.now();
    await this.database.run(
      `INSERT INTO learners (id, name, created_at, seen_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at, name = COALESCE(excluded.name, learners.name)`,
      [key, name ?? null, now, now],
    );
  }

  /** Records a passed step; returns true if it was new. */
  async pass(key: string, slug: string, step: number): Promise<boolean> {
    const r = await this.database.run('INSERT INTO steps (learner, slug, step, passed_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING', [
      key,
      slug,
      step,
      Date.now(),
    ]);
    return r.changes > 0;
  }

  async passedSteps(key: string, slug: string): Promise<number[]> {
    const rows = await this.database.all<{ step: number }>('SELECT step FROM steps WHERE learner = ? AND slug = ?', [key, slug]);
    return rows.map((r) => r.step).sort((a, b) => a - b);
  }

  /** Per lesson: passed steps and whether all `stepCounts[slug]` steps are passed. */
  async progress(key: string, stepCounts: Record<string, number>): Promise<Record<string, LessonProgress>> {
    const out: Record<string, LessonProgress> = {};
    const rows = await this.database.all<{ slug: string; step: number; at: number }>(
      'SELECT slug, step, passed_at AS at FROM steps WHERE learner = ? ORDER BY slug, step',
      [key],
    );
    for (const r of rows) {
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

  close(): Promise<void> {
    return this.database.close();
  }
}
