// Learner progress (SQLite file, or PostgreSQL in a cluster): steps passed per lesson, keyed by the SHA-256 of the learner's token.
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { LessonProgress } from '../protocol/lessons.ts';
import { fromEnv } from '../protocol/settings.ts';
import { Database } from '../db/database.ts';
import { DB_RETRY_AFTER_SEC, DbError } from '../db/sql.ts';
import type { PassSpool, SpooledPass } from './pass-spool.ts';

/** Passes kept while the database is down, at most (a room of 1000 passing 10 steps each); the oldest is dropped. */
export const MAX_PENDING_PASSES = 10_000;

export function defaultDbPath(env: Record<string, string | undefined> = process.env): string {
  return path.join(fromEnv('home', env), 'boxlab.db');
}

/** A token never reaches the database: a copy of the file must not let anyone act as a learner. */
export const learnerKey = (token: string): string => createHash('sha256').update(token).digest('base64url');

export class ProgressStore {
  readonly database: Database;
  /**
   * Steps passed while the database did not answer (a PostgreSQL restart under a running class): written again every
   * DB_RETRY_AFTER_SEC until it does, and counted meanwhile in what this node answers, so a learner who passes a step
   * during an outage finds it passed after a reload and in the database once it is back. With a spool, each is also
   * appended to a local file, read back at the next start: a node stopped during the outage loses none.
   */
  private readonly pending = new Map<string, SpooledPass>();
  private retry: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;

  /** A file (the SQLite default; ':memory:' for tests) or an open database (PostgreSQL in a cluster, server/db/). */
  constructor(
    db: string | Database,
    private readonly log: (line: string) => void = () => {},
    private readonly retryMs = DB_RETRY_AFTER_SEC * 1000,
    private readonly spool: PassSpool | null = null,
  ) {
    this.database = typeof db === 'string' ? Database.open({ file: db }, log) : db;
    const kept = spool?.load() ?? [];
    for (const p of kept) this.hold(p);
    if (kept.length) {
      this.log(`progress: ${kept.length} passed step(s) kept before a restart (${spool!.file}); writing them to the database`);
      void this.flush();
    }
  }

  /** Passes not yet in the database. */
  get pendingPasses(): number {
    return this.pending.size;
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

  /**
   * Records a passed step; returns true if it was new. When the database does not answer the pass is kept and written
   * later (see `pending`), and the DbError still reaches the caller, saying so.
   */
  async pass(key: string, slug: string, step: number): Promise<boolean> {
    const p = { key, slug, step, at: Date.now() };
    try {
      return await this.insert(p);
    } catch (err) {
      if (!(err instanceof DbError)) throw err;
      this.keep(p);
      throw new DbError(`${err.message}; kept, written when the database answers again`, false, { cause: err });
    }
  }

  private insert(p: SpooledPass): Promise<boolean> {
    return this.database
      .run('INSERT INTO steps (learner, slug, step, passed_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING', [p.key, p.slug, p.step, p.at])
      .then((r) => r.changes > 0);
  }

  private keep(p: SpooledPass): void {
    if (this.hold(p)) this.spool?.append(p);
  }

  /** Into the pending map (false if it was there already), the retry timer started. */
  private hold(p: SpooledPass): boolean {
    const id = `${p.key}\0${p.slug}\0${p.step}`;
    if (this.pending.has(id)) return false;
    if (this.pending.size >= MAX_PENDING_PASSES) {
      const oldest = this.pending.keys().next().value!;
      this.pending.delete(oldest);
      this.log(`progress: ${MAX_PENDING_PASSES} passes waiting for the database; the oldest is dropped`);
    }
    this.pending.set(id, p);
    this.retry ??= setInterval(() => void this.flush(), this.retryMs).unref();
    return true;
  }

  /** Writes the kept passes, oldest first; stops at the first failure (the database is still down) until the next try. */
  flush(): Promise<void> {
    this.flushing ??= (async () => {
      try {
        for (const [id, p] of this.pending) {
          await this.insert(p);
          this.pending.delete(id);
        }
        // Synchronously after the last delete: no pass can have been kept (appended) in between.
        this.spool?.clear();
        if (this.retry) clearInterval(this.retry);
        this.retry = null;
      } catch {
        // still down: the interval tries again
      } finally {
        this.flushing = null;
      }
    })();
    return this.flushing;
  }

  private pendingFor(key: string, slug?: string): SpooledPass[] {
    if (!this.pending.size) return [];
    return [...this.pending.values()].filter((p) => p.key === key && (slug === undefined || p.slug === slug));
  }

  async passedSteps(key: string, slug: string): Promise<number[]> {
    const rows = await this.database.all<{ step: number }>('SELECT step FROM steps WHERE learner = ? AND slug = ?', [key, slug]);
    const steps = new Set([...rows.map((r) => r.step), ...this.pendingFor(key, slug).map((p) => p.step)]);
    return [...steps].sort((a, b) => a - b);
  }

  /** Per lesson: passed steps and whether all `stepCounts[slug]` steps are passed. */
  async progress(key: string, stepCounts: Record<string, number>): Promise<Record<string, LessonProgress>> {
    const out: Record<string, LessonProgress> = {};
    const rows = await this.database.all<{ slug: string; step: number; at: number }>(
      'SELECT slug, step, passed_at AS at FROM steps WHERE learner = ? ORDER BY slug, step',
      [key],
    );
    for (const r of [...rows, ...this.pendingFor(key)]) {
      const p = (out[r.slug] ??= { steps: [], done: false, updatedAt: 0 });
      if (!p.steps.includes(r.step)) p.steps.push(r.step);
      p.updatedAt = Math.max(p.updatedAt, r.at);
    }
    for (const [slug, p] of Object.entries(out)) {
      p.steps.sort((a, b) => a - b);
      const n = stepCounts[slug];
      p.done = n !== undefined && Array.from({ length: n }, (_, i) => i).every((i) => p.steps.includes(i));
    }
    return out;
  }

  /** Stops retrying; what is still kept is written by one last try if the database answers. */
  async close(): Promise<void> {
    if (this.retry) clearInterval(this.retry);
    this.retry = null;
    if (this.pending.size) {
      await this.flush();
      if (this.pending.size && this.spool)
        this.log(`progress: ${this.pending.size} passed step(s) not yet in the database: kept in ${this.spool.file} for the next start`);
      else if (this.pending.size)
        this.log(`progress: ${this.pending.size} passed step(s) lost: the database did not answer before closing`);
    }
    return this.database.close();
  }
}
