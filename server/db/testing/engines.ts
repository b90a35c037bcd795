// Runs a store test on both engines: SQLite always, PostgreSQL on a throwaway cluster (skipped with the reason when none can be made, never as root).
import { after, test, type TestContext } from 'node:test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Database } from '../database.ts';
import { pgUnavailable, startThrowawayPg, type ThrowawayPg } from './throwaway-pg.ts';

export type Engine = 'sqlite' | 'postgres';
/** Opens another handle on the test's own database: a reopen (SQLite: the same file) or a second node (PostgreSQL). */
export type Open = () => Database;

let cluster: Promise<ThrowawayPg> | null = null;
let made: ThrowawayPg | null = null;
let n = 0;
// Stopped and removed after the file's tests, and on any exit (a crash, a failed assertion that ends the process).
after(() => made?.stop());
process.on('exit', () => made?.stop());

/** Why the PostgreSQL variant cannot run; root (CI) has no excuse: there it fails instead of skipping. */
export function skipReason(): string | undefined {
  const why = pgUnavailable();
  if (why && process.getuid?.() === 0) throw new Error(`PostgreSQL store tests must run as root: ${why}`);
  return why ?? undefined;
}

async function pgDatabase(): Promise<string> {
  cluster ??= startThrowawayPg().then((c) => (made = c));
  return (await cluster).createDatabase(`t${process.pid}_${++n}`);
}

/** `name [sqlite]` and `name [postgres]`; fn gets a way to open handles on a fresh database of its own. */
export function bothEngines(name: string, fn: (t: TestContext, open: Open, engine: Engine) => Promise<void>): void {
  test(`${name} [sqlite]`, async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlab-store-'));
    const open: Open = () => Database.open({ file: path.join(dir, 'boxlab.db') });
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    await fn(t, open, 'sqlite');
  });
  const skip = skipReason();
  test(`${name} [postgres]`, { skip }, async (t) => {
    const url = await pgDatabase();
    // Small pools: a test file opens several handles at once.
    await fn(t, () => Database.open({ url, file: '', pool: { max: 4 } }), 'postgres');
  });
}

/** Every handle a test opened is closed (pools ended) when it ends, even when it fails. */
export function closing(t: TestContext, open: Open): Open {
  return () => {
    const db = open();
    t.after(() => db.close().catch(() => {}));
    return db;
  };
}
