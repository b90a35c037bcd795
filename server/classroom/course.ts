// The course: lessons + check runner + progress + classroom (instructor sessions, broadcast, class actions), wired to the web server.
import fs from 'node:fs';
import path from 'node:path';
import { CLOSE, type ClientMessage } from '../protocol/messages.ts';
import type { ClassAction } from '../protocol/lessons.ts';
import type { BoxSettings } from '../protocol/settings.ts';
import type { LoadedLesson } from '../lessons/loader.ts';
import { PackSet } from '../lessons/packset.ts';
import { ProgressStore, defaultDbPath } from '../lessons/progress.ts';
import { PassSpool } from '../lessons/pass-spool.ts';
import { CheckRunner } from '../lessons/runner.ts';
import type { Limits } from '../lessons/settings.ts';
import type { BoxProbe } from '../lessons/probe.ts';
import type { SandboxHandle } from '../engine/types.ts';
import type { Session, SessionClient } from '../sessions/session.ts';
import type { SessionManager } from '../sessions/manager.ts';
import { InstructorAuth } from './auth.ts';
import { ClassStore } from './class-store.ts';
import { Database } from '../db/database.ts';
import { Classes } from './classes.ts';
import { Dashboard } from './dashboard.ts';
import { WatchHub } from './watch.ts';
import { fromEnv } from '../protocol/settings.ts';

export interface CourseOptions {
  /** Instructor token; default BOXLAB_INSTRUCTOR_TOKEN, else a random one printed at start. */
  instructorToken?: string;
  /** SQLite file; default ${BOXLAB_HOME:-/var/lib/boxlab}/boxlab.db, opened on first use. */
  dbPath?: string;
  /** postgres://… (BOXLAB_DATABASE_URL): progress and classes in that shared database instead of the SQLite file. */
  databaseUrl?: string;
  /**
   * Local file for steps passed while the database does not answer (server/lessons/pass-spool.ts), one per node; when
   * it is there at start the store opens at once and writes them. Default: none (kept in memory only).
   */
  passSpool?: string;
  /** The built-in course's folder (default lessons/). */
  lessonsDir?: string;
  /** Lesson packs served beside the built-in course (`boxlab serve --lessons DIR`). */
  packDirs?: readonly string[];
  /** Re-read packs when their files change (default true). */
  watchLessons?: boolean;
  checkIntervalMs?: number;
  probeFor?: (sb: SandboxHandle, s: Session) => BoxProbe;
}

export interface CourseDeps {
  manager: SessionManager;
  limits: Limits;
  allowedOrigins: readonly string[];
  cgroupVersion: 1 | 2;
  /** Seconds a detached session waits for its client, and the per-address cap of playground sessions. */
  graceSec?: number;
  maxPerClient?: number;
  log: (line: string) => void;
}

export type ActionResult = { ok: true; affected: number } | { ok: false; status: 400 | 404; message: string };

export class Course {
  readonly auth: InstructorAuth;
  readonly runner: CheckRunner;
  readonly watch: WatchHub;
  readonly dashboard: Dashboard;
  readonly packs: PackSet;
  /** Sessions created by the instructor: never listed as learners, the only ones that can be broadcast. */
  readonly instructors = new Set<string>();
  broadcastId: string | null = null;
  private storeInstance: ProgressStore | null = null;
  private classStoreInstance: ClassStore | null = null;
  readonly classes: Classes;

  constructor(
    readonly deps: CourseDeps,
    private readonly opts: CourseOptions = {},
  ) {
    this.auth = new InstructorAuth(opts.instructorToken ?? process.env.BOXLAB_INSTRUCTOR_TOKEN);
    this.packs = new PackSet({ builtinDir: opts.lessonsDir, packDirs: opts.packDirs, log: deps.log, watch: opts.watchLessons });
    for (const p of this.packs.packs) {
      if (p.manifest.image && !imageDir(p.manifest.image))
        deps.log(
          `lesson pack ${p.dir}: image "${p.manifest.image}" is not built on this server (boxlab rootfs): its lessons use the default image`,
        );
    }
    this.runner = new CheckRunner({
      lessons: () => this.lessonMap,
      store: () => this.store,
      getSession: (id) => deps.manager.get(id),
      limits: { ...deps.limits, hasImage: (name) => imageDir(name) !== undefined },
      intervalMs: opts.checkIntervalMs,
      probeFor: opts.probeFor,
      keyOf: (id) => this.classes.keyOf(id),
      limitsOf: (id) => {
        const c = this.classes.limitsOf(id);
        return c && { ...deps.limits, ...c, hasImage: (name) => imageDir(name) !== undefined };
      },
      log: deps.log,
    });
    this.classes = new Classes({
      manager: deps.manager,
      store: () => this.classStore,
      limits: deps.limits,
      graceSec: deps.graceSec ?? 60,
      maxPerClient: deps.maxPerClient ?? 3,
      log: deps.log,
      lesson: (slug) => {
        const l = this.lessonMap.get(slug)?.lesson;
        return l && { title: l.title, steps: l.steps.map((st) => st.title) };
      },
    });
    this.watch = new WatchHub({
      manager: deps.manager,
      allowedOrigins: deps.allowedOrigins,
      auth: this.auth,
      log: deps.log,
      broadcast: () => (this.broadcastId ? (deps.manager.get(this.broadcastId) ?? null) : null),
      nameOf: (s) => this.nameOf(s),
    });
    this.dashboard = new Dashboard(
      deps.manager,
      this.runner,
      () => this.lessonMap,
      () => this.store,
      this.instructors,
    );
    // Passes kept by this node's previous run during a database outage: written now, not at the first visitor.
    if (opts.passSpool && fs.existsSync(opts.passSpool)) void this.store;
  }

  /**
   * Opened on first use, so a server that never sees a learner never touches the disk (or the network): the SQLite
   * file, or the PostgreSQL database of BOXLAB_DATABASE_URL, migrated before its first query (server/db/).
   */
  get store(): ProgressStore {
    if (!this.storeInstance) {
      const { databaseUrl: url, dbPath } = this.opts;
      const db = Database.open({ url, file: dbPath ?? defaultDbPath() }, this.deps.log);
      if (url) this.deps.log(`progress and classes: PostgreSQL ${db.where}`);
      const spool = this.opts.passSpool ? new PassSpool(this.opts.passSpool, this.deps.log) : null;
      this.storeInstance = new ProgressStore(db, this.deps.log, undefined, spool);
    }
    return this.storeInstance;
  }

  /** Classes live in the progress database (the same file or database, their own tables). */
  get classStore(): ClassStore {
    return (this.classStoreInstance ??= new ClassStore(this.store.database));
  }

  get lessonErrors(): string[] {
    return this.packs.errors;
  }
  private get lessonMap(): Map<string, LoadedLesson> {
    return this.packs.lessonMap;
  }

  get lessons(): LoadedLesson[] {
    return [...this.lessonMap.values()];
  }
  lesson(slug: string): LoadedLesson | undefined {
    return this.lessonMap.get(slug);
  }

  nameOf(s: Session): string {
    if (this.instructors.has(s.id)) return 'Instructor';
    return (
      this.classes.nameOf(s.id) || this.runner.states.get(s.id)?.name || this.deps.manager.info(s.id)?.name || `learner ${s.id.slice(0, 4)}`
    );
  }

  /** Control messages the playground protocol does not know (socket.ts hands them over). */
  onMessage(session: Session, msg: ClientMessage, client: SessionClient): void {
    if (msg.type !== 'lesson') return;
    // Where the learner is is set when onLesson returns; the store's part follows (errors are logged there).
    void this.runner.onLesson(session, msg).catch((err: Error) => this.deps.log(`session ${session.id}: lesson message: ${err.message}`));
    const st = this.runner.states.get(session.id);
    if (st?.slug) void this.classes.opened(session.id, st.slug, st.step);
    const b = this.broadcastId ? this.deps.manager.get(this.broadcastId) : undefined;
    if (b && b !== session) client.send({ type: 'broadcast', active: true, name: this.nameOf(b) });
  }

  onInput(session: Session, data: Buffer): void {
    this.runner.onInput(session, data);
  }

  /**
   * Limits of the lesson the session is in; a pack's image becomes the box's base directory when the server has it.
   * The instructor's terminal is a lab box (unless the operator turned lab mode off): the classic demo,
   * `unshare --pid --fork --mount-proc sh` then `ps`, works as typed while broadcasting (docs/lab-mode.md).
   */
  sandboxOverrides(s: Session): Omit<BoxSettings, 'image'> & { baseDir?: string } {
    const { image, ...lesson } = this.runner.overrides(s.id);
    // A class member's box has the class's limits; a lesson's own (already capped by them, runner.ts) go over.
    const rest = { ...this.classes.limitsOf(s.id), ...lesson };
    const dir = image ? imageDir(image) : undefined;
    const out = dir ? { ...rest, baseDir: dir } : rest;
    const lab = this.instructors.has(s.id) && this.deps.limits.lab !== false;
    return lab ? { lab: true, ...out } : out;
  }

  /** An instructor session: the instructor's own terminal, which they can broadcast. */
  createInstructorSession(addr: string) {
    const r = this.deps.manager.create(addr, 'Instructor');
    if (r.ok) this.instructors.add(r.session.id);
    return r;
  }

  private learners(): Session[] {
    for (const id of this.instructors) if (!this.deps.manager.get(id)) this.instructors.delete(id);
    return this.deps.manager
      .sessions()
      .map((i) => i.session)
      .filter((s) => !this.instructors.has(s.id) && !s.destroyed);
  }

  async act(a: ClassAction): Promise<ActionResult> {
    switch (a.action) {
      case 'reset': {
        const s = this.deps.manager.get(a.sessionId);
        if (!s) return { ok: false, status: 404, message: 'no such session' };
        return { ok: true, affected: Number(await rebuild(s)) };
      }
      case 'reset_all': {
        const done = await Promise.all(this.learners().map(rebuild));
        return { ok: true, affected: done.filter(Boolean).length };
      }
      case 'goto': {
        if (!this.lessonMap.has(a.slug)) return { ok: false, status: 404, message: 'no such lesson' };
        let n = 0;
        for (const s of this.learners()) if (s.client) s.client.send({ type: 'goto', slug: a.slug }), n++;
        return { ok: true, affected: n };
      }
      case 'broadcast':
        return this.setBroadcast(a.sessionId);
      case 'end': {
        this.setBroadcast(null);
        // Every open class is archived (roster, progress and export kept); its members hear which class ended.
        let archived = 0;
        for (const c of (await this.classes.list()).active) {
          const r = await this.classes.end(c.id);
          if (r.ok) archived += r.affected;
        }
        const all = this.deps.manager.sessions().map((i) => i.session);
        for (const s of all) s.client?.send({ type: 'class_ended', message: CLASS_OVER });
        await Promise.all(all.map((s) => this.deps.manager.destroy(s, CLOSE.SESSION_GONE, 'class ended')));
        this.instructors.clear();
        return { ok: true, affected: archived + all.length };
      }
    }
  }

  private setBroadcast(id: string | null): ActionResult {
    if (id !== null && (!this.instructors.has(id) || !this.deps.manager.get(id))) {
      return { ok: false, status: 404, message: 'only a live instructor session can be broadcast' };
    }
    if (this.broadcastId === id) return { ok: true, affected: 0 };
    this.broadcastId = id;
    this.watch.closeViewers(CLOSE.SESSION_GONE, id ? 'broadcast switched' : 'broadcast ended', 'broadcast');
    const name = id ? this.nameOf(this.deps.manager.get(id)!) : undefined;
    let n = 0;
    for (const s of this.learners()) if (s.client) s.client.send({ type: 'broadcast', active: id !== null, name }), n++;
    return { ok: true, affected: n };
  }

  async close(): Promise<void> {
    this.packs.close();
    this.runner.close();
    this.watch.close();
    await this.storeInstance?.close().catch((err: Error) => this.deps.log(`database close: ${err.message}`));
    this.storeInstance = null;
    this.classStoreInstance = null;
  }
}

/** What a learner's page says when the instructor resets their box, and when the class ends (any page: playground or lesson). */
export const RESET_NOTICE = 'Your instructor reset your box.';
export const CLASS_OVER = 'The instructor ended the class. Your progress is saved.';

/** Reset a running sandbox, or boot again one that exited or failed. False while one is being built. */
async function rebuild(s: Session): Promise<boolean> {
  const can = s.state === 'running' || s.state === 'exited' || s.state === 'error';
  // Told before the screen is cleared (the reset sends RIS), so the page can say why it went blank.
  if (can) s.client?.send({ type: 'class_reset', message: RESET_NOTICE });
  if (s.state === 'running') return (await s.reset(), true);
  if (s.state === 'exited' || s.state === 'error') return (await s.restart(), true);
  return false;
}

/** A named image under the images dir, only when it looks like a built image (a directory with /bin). */
function imageDir(name: string): string | undefined {
  const dir = path.join(fromEnv('home', process.env), 'images', name);
  return fs.existsSync(path.join(dir, 'bin')) ? dir : undefined;
}

export function loadCourse(deps: CourseDeps, opts?: CourseOptions): Course {
  return new Course(deps, opts);
}
