// The stores' database: SQLite (a file) or PostgreSQL (BOXLAB_DATABASE_URL), migrated before its first query, retried after an outage.
import { PgEngine, type PgPoolOptions } from './pg.ts';
import { SCHEMA_VERSION, migrate } from './schema.ts';
import { SqliteEngine } from './sqlite.ts';
import type { Param, SqlEngine, SqlRunner } from './sql.ts';

export interface DatabaseOptions {
  /** postgres://… : the shared database of a cluster; unset: the SQLite file. */
  url?: string;
  /** The SQLite file (':memory:' for tests). */
  file: string;
  pool?: Partial<PgPoolOptions>;
}

export function openEngine(o: DatabaseOptions, log: (line: string) => void = () => {}): SqlEngine {
  return o.url ? new PgEngine(o.url, log, o.pool) : new SqliteEngine(o.file, log);
}

/**
 * An engine whose first query waits for the migration. A migration that fails (the database is down at start) is
 * tried again by the next query: the server starts and serves boxes without its database, and heals when it is back.
 */
export class Database implements SqlEngine {
  private migrated: Promise<void> | null = null;

  constructor(
    readonly engine: SqlEngine,
    private readonly log: (line: string) => void = () => {},
  ) {}

  static open(o: DatabaseOptions, log: (line: string) => void = () => {}): Database {
    return new Database(openEngine(o, log), log);
  }

  get kind(): SqlEngine['kind'] {
    return this.engine.kind;
  }
  get where(): string {
    return this.engine.where;
  }
  get persistent(): boolean {
    return this.engine.persistent;
  }

  ready(): Promise<void> {
    this.migrated ??= migrate(this.engine).then(
      (from) => {
        // SQLite's first start says nothing, as before; a shared database's migration is worth a line.
        if (from !== SCHEMA_VERSION && this.engine.kind === 'postgres')
          this.log(`database ${this.engine.where}: migrated from schema version ${from} to ${SCHEMA_VERSION}`);
      },
      (err: unknown) => {
        this.migrated = null;
        throw err;
      },
    );
    return this.migrated;
  }

  async all<T>(sql: string, p?: readonly Param[]): Promise<T[]> {
    await this.ready();
    return this.engine.all<T>(sql, p);
  }
  async get<T>(sql: string, p?: readonly Param[]): Promise<T | undefined> {
    await this.ready();
    return this.engine.get<T>(sql, p);
  }
  async run(sql: string, p?: readonly Param[]): Promise<{ changes: number }> {
    await this.ready();
    return this.engine.run(sql, p);
  }
  async exec(sql: string): Promise<void> {
    await this.ready();
    return this.engine.exec(sql);
  }
  async tx<T>(fn: (q: SqlRunner) => Promise<T>, opts?: { lock?: boolean }): Promise<T> {
    await this.ready();
    return this.engine.tx(fn, opts);
  }
  close(): Promise<void> {
    return this.engine.close();
  }
}
