// pass-spool.ts: steps passed while the database is down, appended to a local file so that a node stopped before it
// answers again (SIGTERM, kill -9, a crash) writes them after its restart instead of losing them.
//
// One JSON line per pass, appended (O_APPEND: a line written whole is never interleaved, write(2)); a pass already in
// the database is harmless to write again (INSERT ... ON CONFLICT DO NOTHING). The file holds learner keys (SHA-256 of
// tokens, like the database) and nothing a learner can write: mode 0600 in the root-owned BOXLAB_HOME. Each line is
// still checked on load, since a torn last line is what kill -9 during an append leaves.
import { appendFileSync, existsSync, readFileSync, unlinkSync } from 'node:fs';
import { B64URL32_RE, SLUG_RE } from '../protocol/lessons.ts';

export interface SpooledPass {
  key: string;
  slug: string;
  step: number;
  at: number;
}

/** A file bigger than this is not read (10,000 kept passes are ~1.2 MB): what fits is replayed, the rest said lost. */
const MAX_SPOOL_BYTES = 4 * 1024 * 1024;

function parseLine(line: string): SpooledPass | null {
  try {
    const v = JSON.parse(line) as Partial<SpooledPass>;
    const ok =
      typeof v.key === 'string' &&
      B64URL32_RE.test(v.key) &&
      typeof v.slug === 'string' &&
      SLUG_RE.test(v.slug) &&
      Number.isInteger(v.step) &&
      (v.step as number) >= 0 &&
      (v.step as number) < 1000 &&
      Number.isFinite(v.at);
    return ok ? { key: v.key!, slug: v.slug!, step: v.step!, at: v.at! } : null;
  } catch {
    return null;
  }
}

export class PassSpool {
  /** One log line per failure kind, not one per pass, while the disk refuses. */
  private appendFailed = false;

  constructor(
    readonly file: string,
    private readonly log: (line: string) => void = () => {},
  ) {}

  /** The passes a previous run of this node kept; lines that do not parse are skipped and counted in one log line. */
  load(): SpooledPass[] {
    if (!existsSync(this.file)) return [];
    let text: string;
    try {
      const buf = readFileSync(this.file);
      text = buf.subarray(0, MAX_SPOOL_BYTES).toString('utf8');
      if (buf.length > MAX_SPOOL_BYTES) this.log(`progress: ${this.file} is over ${MAX_SPOOL_BYTES} bytes; only its start is read`);
    } catch (err) {
      this.log(`progress: cannot read ${this.file}: ${(err as Error).message}`);
      return [];
    }
    const out: SpooledPass[] = [];
    let bad = 0;
    for (const line of text.split('\n')) {
      if (!line) continue;
      const p = parseLine(line);
      if (p) out.push(p);
      else bad++;
    }
    if (bad) this.log(`progress: ${bad} line(s) of ${this.file} skipped (not a kept pass; a torn last line after kill -9)`);
    return out;
  }

  append(p: SpooledPass): void {
    try {
      appendFileSync(this.file, `${JSON.stringify(p)}\n`, { mode: 0o600 });
      this.appendFailed = false;
    } catch (err) {
      if (!this.appendFailed) this.log(`progress: cannot keep passes in ${this.file} (${(err as Error).message}): kept in memory only`);
      this.appendFailed = true;
    }
  }

  /** Everything kept is in the database: the file goes. */
  clear(): void {
    try {
      unlinkSync(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log(`progress: cannot remove ${this.file}: ${(err as Error).message}`);
    }
  }
}
