// The server's lessons: the built-in course plus every --lessons pack, re-read when a pack's files change (fs.watch,
// debounced). A file that stops parsing keeps its last good version, and the error is logged with file:line.
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_LESSONS_DIR, type LoadedLesson } from './loader.ts';
import { loadPack, mergePacks, type LoadedPack } from './pack.ts';

export interface PackSetOptions {
  builtinDir?: string;
  packDirs?: readonly string[];
  log?: (line: string) => void;
  /** fs.watch the pack folders (default true; the built-in course is watched too). */
  watch?: boolean;
  debounceMs?: number;
}

export class PackSet {
  lessonMap = new Map<string, LoadedLesson>();
  errors: string[] = [];
  packs: LoadedPack[] = [];
  /** Bumped on every reload that changed something (tests wait on it). */
  generation = 0;
  private readonly watchers: fs.FSWatcher[] = [];
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly log: (line: string) => void;

  constructor(private readonly opts: PackSetOptions = {}) {
    this.log = opts.log ?? (() => {});
    const dirs = this.dirs();
    this.packs = dirs.map(({ dir, builtin }) => loadPack(dir, builtin));
    this.merge(null);
    for (const e of this.errors) this.log(`lesson skipped: ${e}`);
    if (opts.watch !== false) for (const d of dirs) this.watchDir(d.dir);
  }

  private dirs(): { dir: string; builtin: boolean }[] {
    const builtin = path.resolve(this.opts.builtinDir ?? DEFAULT_LESSONS_DIR);
    const extra = [...new Set((this.opts.packDirs ?? []).map((d) => path.resolve(d)))].filter((d) => d !== builtin);
    return [{ dir: builtin, builtin: true }, ...extra.map((dir) => ({ dir, builtin: false }))];
  }

  private watchDir(dir: string): void {
    try {
      const w = fs.watch(dir, { persistent: false }, () => this.schedule(dir));
      w.on('error', (err) => this.log(`lessons: watching ${dir} stopped: ${err.message}`));
      this.watchers.push(w);
    } catch (err) {
      this.log(`lessons: cannot watch ${dir}: ${(err as Error).message}`);
    }
  }

  private schedule(dir: string): void {
    clearTimeout(this.timers.get(dir));
    this.timers.set(dir, setTimeout(() => this.reload(dir), this.opts.debounceMs ?? 200).unref());
  }

  /** Re-reads one pack; lessons whose file now fails keep their last good version. */
  reload(dir: string): void {
    const i = this.packs.findIndex((p) => p.dir === dir);
    const old = this.packs[i];
    if (!old) return;
    const fresh = loadPack(dir, old.info.builtin);
    const keptFiles = new Set(fresh.lessons.map((l) => l.file));
    for (const e of fresh.errors) {
      const file = /^(.*?):\d+:/.exec(e)?.[1];
      const last = old.lessons.find((l) => l.file === file);
      if (last && !keptFiles.has(last.file) && fs.existsSync(last.file)) {
        fresh.lessons.push(last);
        keptFiles.add(last.file);
        this.log(`lessons: ${e} (keeping the last good version)`);
      } else this.log(`lessons: ${e}`);
    }
    this.packs[i] = fresh;
    this.merge(old);
  }

  private merge(old: LoadedPack | null): void {
    const { lessons, errors } = mergePacks(this.packs);
    this.lessonMap = new Map(lessons.map((l) => [l.lesson.slug, l]));
    this.errors = errors;
    if (old) {
      this.generation++;
      this.log(`lessons: reloaded ${old.dir} (${this.packs.find((p) => p.dir === old.dir)?.lessons.length ?? 0} lessons)`);
    }
  }

  /** The pack folder a lesson's files (images) come from. */
  dirOf(slug: string): string | undefined {
    return this.packs.find((p) => p.lessons.some((l) => l.lesson.slug === slug && this.lessonMap.get(slug) === l))?.dir;
  }

  close(): void {
    for (const w of this.watchers) w.close();
    for (const t of this.timers.values()) clearTimeout(t);
  }
}
