// The SQL both store engines answer (SQLite embedded, PostgreSQL shared): `?` placeholders, rows as objects, Promises.
export type Param = string | number | null;

export interface SqlRunner {
  all<T>(sql: string, params?: readonly Param[]): Promise<T[]>;
  get<T>(sql: string, params?: readonly Param[]): Promise<T | undefined>;
  run(sql: string, params?: readonly Param[]): Promise<{ changes: number }>;
  /** Several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface SqlEngine extends SqlRunner {
  readonly kind: 'sqlite' | 'postgres';
  /** Where the data lives, for logs (a URL's password is never in it). */
  readonly where: string;
  /** False when an SQLite file could not be opened and memory stands in (lost on restart). */
  readonly persistent: boolean;
  /**
   * fn's queries (through the runner it is given, never the engine itself) are one transaction: committed when fn
   * resolves, rolled back when it throws. `lock`: the migration lock as well (SQLite BEGIN IMMEDIATE takes the write
   * lock; PostgreSQL a transaction-scoped advisory lock), so two nodes starting at once do not both migrate.
   */
  tx<T>(fn: (q: SqlRunner) => Promise<T>, opts?: { lock?: boolean }): Promise<T>;
  close(): Promise<void>;
}

/**
 * Any failure of the database under a store call: the routes answer 503 with DB_UNAVAILABLE's words (the server keeps
 * running, boxes keep working); `unique` marks a UNIQUE constraint refusal, which the stores handle themselves.
 */
export class DbError extends Error {
  readonly status = 503;
  constructor(
    message: string,
    readonly unique: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DbError';
  }
}

export const DB_UNAVAILABLE = { error: 'database_unavailable', message: 'The progress database is not answering. Try again in a moment.' };
/** Seconds a 503 from the database asks the client to wait (Retry-After). */
export const DB_RETRY_AFTER_SEC = 5;

/** A database URL as logs may show it: the password replaced. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(an unparsable database URL)';
  }
}
