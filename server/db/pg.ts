// The shared engine: a bounded PostgreSQL pool (npm pg) behind the async SqlEngine; `?` placeholders become $1, $2, …
import type pg from 'pg';
import { DbError, redactUrl, type Param, type SqlEngine, type SqlRunner } from './sql.ts';

/** The pool's bounds, in one place: a node never holds more connections than this, nor waits longer for one. */
export const PG_POOL = {
  /** Connections per node; 3 nodes × 10 stays well under PostgreSQL's default max_connections (100). */
  max: 10,
  /** A connection not made in this time fails the request (503) instead of hanging it. */
  connectionTimeoutMillis: 5000,
  idleTimeoutMillis: 30_000,
  /** The server ends a statement after this; the client gives up a little later (a dead socket). */
  statementTimeoutMs: 10_000,
  queryTimeoutMs: 12_000,
} as const;
export type PgPoolOptions = { [K in keyof typeof PG_POOL]: number };

/** Key of the migration lock (pg_advisory_xact_lock): any constant; "boxlab" in ASCII. */
const MIGRATION_LOCK = 0x626f786c6162;

// Times are milliseconds in BIGINT columns and COUNT(*) is BIGINT: both are far below 2^53, so numbers, not strings.
const INT8 = 20;
const typesOf = (mod: typeof pg) => ({
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8 ? (v: string) => Number(v) : mod.types.getTypeParser(oid, format as 'text')) as pg.CustomTypesConfig['getTypeParser'],
});

/** `?` to `$n` (the stores' SQL has no `?` inside string literals). */
export const numbered = (sql: string): string => {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
};

const wrap = (err: unknown): DbError => {
  const e = err as Error & { code?: string };
  return new DbError(`postgres: ${e.message}`, e.code === '23505', { cause: err });
};

function runner(client: pg.Pool | pg.PoolClient | Promise<pg.Pool>): SqlRunner {
  const q = async (sql: string, p: readonly Param[] = []) => {
    try {
      return await (await client).query(numbered(sql), p as Param[]);
    } catch (err) {
      throw wrap(err);
    }
  };
  return {
    all: async <T>(sql: string, p?: readonly Param[]) => (await q(sql, p)).rows as T[],
    get: async <T>(sql: string, p?: readonly Param[]) => (await q(sql, p)).rows[0] as T | undefined,
    run: async (sql: string, p?: readonly Param[]) => ({ changes: (await q(sql, p)).rowCount ?? 0 }),
    exec: async (sql: string) => void (await q(sql)),
  };
}

export class PgEngine implements SqlEngine {
  readonly kind = 'postgres' as const;
  readonly persistent = true;
  readonly where: string;
  /** Made on first use: the pg module is loaded only by a server that has a database URL (~50 ms at start otherwise). */
  private readonly pool: Promise<pg.Pool>;
  private readonly q: SqlRunner;

  constructor(url: string, log: (line: string) => void = () => {}, pool: Partial<PgPoolOptions> = {}) {
    const o = { ...PG_POOL, ...pool };
    this.where = redactUrl(url);
    this.pool = import('pg').then(({ default: mod }) => {
      const pool = new mod.Pool({
        connectionString: url,
        max: o.max,
        connectionTimeoutMillis: o.connectionTimeoutMillis,
        idleTimeoutMillis: o.idleTimeoutMillis,
        statement_timeout: o.statementTimeoutMs,
        query_timeout: o.queryTimeoutMs,
        application_name: 'boxlab',
        types: typesOf(mod),
      });
      // An idle connection the server drops (restart, outage) emits 'error' on the pool: unhandled, it would end the process.
      pool.on('error', (err) => log(`database ${this.where}: idle connection lost (${err.message})`));
      return pool;
    });
    this.q = runner(this.pool);
  }

  all<T>(sql: string, p?: readonly Param[]): Promise<T[]> {
    return this.q.all<T>(sql, p);
  }
  get<T>(sql: string, p?: readonly Param[]): Promise<T | undefined> {
    return this.q.get<T>(sql, p);
  }
  run(sql: string, p?: readonly Param[]): Promise<{ changes: number }> {
    return this.q.run(sql, p);
  }
  exec(sql: string): Promise<void> {
    return this.q.exec(sql);
  }

  async tx<T>(fn: (q: SqlRunner) => Promise<T>, opts: { lock?: boolean } = {}): Promise<T> {
    let c: pg.PoolClient;
    try {
      c = await (await this.pool).connect();
    } catch (err) {
      throw wrap(err);
    }
    const q = runner(c);
    let broken: unknown;
    try {
      await q.exec('BEGIN');
      // Held until COMMIT/ROLLBACK: a second node starting at once waits here, then finds the schema current.
      if (opts.lock) await q.get('SELECT pg_advisory_xact_lock(?)', [MIGRATION_LOCK]);
      const out = await fn(q);
      await q.exec('COMMIT');
      return out;
    } catch (err) {
      await q.exec('ROLLBACK').catch((e: unknown) => (broken = e));
      throw err;
    } finally {
      // A connection whose ROLLBACK failed is not given back to the pool (it may sit in an aborted transaction).
      c.release(broken instanceof Error ? broken : undefined);
    }
  }

  async close(): Promise<void> {
    await (await this.pool).end();
  }
}
