// The embedded engine: one better-sqlite3 file (WAL), behind the async SqlEngine; queries are serialized around transactions.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { DbError, type Param, type SqlEngine, type SqlRunner } from './sql.ts';

/** The part of better-sqlite3's API used here (the package ships no types). */
interface Statement {
  run(...args: unknown[]): { changes: number };
  get(...args: unknown[]): unknown;
  all(...args: unknown[]): unknown[];
}
export interface RawSqlite {
  prepare(sql: string): Statement;
  exec(sql: string): void;
  pragma(s: string, o?: { simple: boolean }): unknown;
  close(): void;
}

const require = createRequire(import.meta.url);
/** Per file: the queue its handles in this process share (see SqliteEngine.queue). */
const QUEUES = new Map<string, { tail: Promise<unknown> }>();

const wrap = <T>(f: () => T): T => {
  try {
    return f();
  } catch (err) {
    const e = err as Error & { code?: string };
    throw new DbError(`sqlite: ${e.message}`, /^SQLITE_CONSTRAINT_(UNIQUE|PRIMARYKEY)$/.test(e.code ?? ''), { cause: err });
  }
};

export class SqliteEngine implements SqlEngine {
  readonly kind = 'sqlite' as const;
  readonly persistent: boolean;
  readonly where: string;
  readonly raw: RawSqlite;
  private readonly cache = new Map<string, Statement>();
  /**
   * The last queued call: every call waits for the one before, so a transaction's queries are never interleaved. Shared
   * by the handles on one file in this process: a second handle's BEGIN would otherwise wait on the file lock
   * (busy_timeout) synchronously, blocking the very event loop the first handle needs to commit.
   */
  private readonly queue: { tail: Promise<unknown> };
  private readonly direct: SqlRunner;

  constructor(file: string, log: (line: string) => void = () => {}) {
    const Database = require('better-sqlite3') as new (f: string) => RawSqlite;
    let db: RawSqlite;
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
    this.raw = db;
    this.persistent = persistent;
    this.where = persistent ? file : ':memory:';
    const shared = persistent ? path.resolve(file) : null;
    this.queue = (shared && QUEUES.get(shared)) || { tail: Promise.resolve() };
    if (shared) QUEUES.set(shared, this.queue);
    const st = (sql: string) => {
      let s = this.cache.get(sql);
      if (!s) this.cache.set(sql, (s = wrap(() => db.prepare(sql))));
      return s;
    };
    this.direct = {
      all: async <T>(sql: string, p: readonly Param[] = []) => wrap(() => st(sql).all(...p)) as T[],
      get: async <T>(sql: string, p: readonly Param[] = []) => wrap(() => st(sql).get(...p)) as T | undefined,
      run: async (sql: string, p: readonly Param[] = []) => ({ changes: wrap(() => st(sql).run(...p)).changes }),
      exec: async (sql: string) => wrap(() => db.exec(sql)),
    };
  }

  private outside<T>(f: () => Promise<T>): Promise<T> {
    const r = this.queue.tail.then(() => f());
    this.queue.tail = r.catch(() => {});
    return r;
  }

  all<T>(sql: string, p?: readonly Param[]): Promise<T[]> {
    return this.outside(() => this.direct.all<T>(sql, p));
  }
  get<T>(sql: string, p?: readonly Param[]): Promise<T | undefined> {
    return this.outside(() => this.direct.get<T>(sql, p));
  }
  run(sql: string, p?: readonly Param[]): Promise<{ changes: number }> {
    return this.outside(() => this.direct.run(sql, p));
  }
  exec(sql: string): Promise<void> {
    return this.outside(() => this.direct.exec(sql));
  }

  tx<T>(fn: (q: SqlRunner) => Promise<T>, opts: { lock?: boolean } = {}): Promise<T> {
    return this.outside(async () => {
      // IMMEDIATE: the write lock at once, so another process's migration or insert waits (busy_timeout) instead of failing late.
      wrap(() => this.raw.exec(opts.lock ? 'BEGIN IMMEDIATE' : 'BEGIN'));
      try {
        const out = await fn(this.direct);
        wrap(() => this.raw.exec('COMMIT'));
        return out;
      } catch (err) {
        // A failed BEGIN-less state or an already ended transaction must not hide the error that got us here.
        try {
          this.raw.exec('ROLLBACK');
        } catch {}
        throw err;
      }
    });
  }

  async close(): Promise<void> {
    await this.queue.tail;
    this.raw.close();
  }
}
