// The course: lessons + check runner + progress + classroom (instructor sessions, broadcast, class actions), wired to the web server.
import fs from 'node:fs';
import path from 'node:path';
import { CLOSE, type ClientMessage } from '../protocol/messages.ts';
import type { ClassAction, SandboxSettings } from '../protocol/lessons.ts';
import type { LoadedLesson } from '../lessons/loader.ts';
import { PackSet } from '../lessons/packset.ts';
import { ProgressStore, defaultDbPath } from '../lessons/progress.ts';
import { CheckRunner } from '../lessons/runner.ts';
import type { Limits } from '../lessons/settings.ts';
import type { BoxProbe } from '../lessons/probe.ts';
import type { SandboxHandle } from '../engine/types.ts';
import type { Session, SessionClient } from '../sessions/session.ts';
import type { SessionManager } from '../sessions/manager.ts';
import { InstructorAuth } from './auth.ts';
import { Dashboard } from './dashboard.ts';
import { WatchHub } from './watch.ts';

export interface CourseOptions {
  /** Instructor token; default BOXLAB_INSTRUCTOR_TOKEN, else a random one printed at start. */
  instructorToken?: string;
  /** SQLite file; default ${BOXLAB_HOME:-/var/lib/boxlab}/boxlab.db, opened on first use. */
  dbPath?: string;
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

  constructor(readonly deps: CourseDeps, private readonly opts: CourseOptions = {}) {
    this.auth = new InstructorAuth(opts.instructorToken ?? process.env.BOXLAB_INSTRUCTOR_TOKEN);
    this.packs = new PackSet({ builtinDir: opts.lessonsDir, packDirs: opts.packDirs, log: deps.log, watch: opts.watchLessons });
    for (const p of this.packs.packs) {
      if (p.manifest.image && !imageDir(p.manifest.image)) deps.log(`lesson pack ${p.dir}: image "${p.manifest.image}" is not built on this server (boxlab rootfs): its lessons use the default image`);
    }
    this.runner = new CheckRunner({
      lessons: () => this.lessonMap,
      store: () => this.store,
      getSession: (id) => deps.manager.get(id),
      limits: { ...deps.limits, hasImage: (name) => imageDir(name) !== undefined },
      intervalMs: opts.checkIntervalMs,
      probeFor: opts.probeFor,
      log: deps.log,
    });
    this.watch = new WatchHub({
      manager: deps.manager, allowedOrigins: deps.allowedOrigins, auth: this.auth, log: deps.log,
      broadcast: () => (this.broadcastId ? deps.manager.get(this.broadcastId) ?? null : null),
      nameOf: (s) => this.nameOf(s),
    });
    this.dashboard = new Dashboard(deps.manager, this.runner, () => this.lessonMap, () => this.store, this.instructors);
  }

  /** Opened on first use, so a server that never sees a learner never touches the disk. */
  get store(): ProgressStore {
    return (this.storeInstance ??= new ProgressStore(this.opts.dbPath ?? defaultDbPath(), this.deps.log));
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
    return this.runner.states.get(s.id)?.name || this.deps.manager.info(s.id)?.name || `learner ${s.id.slice(0, 4)}`;
  }

  /** Control messages the playground protocol does not know (socket.ts hands them over). */
  onMessage(session: Session, msg: ClientMessage, client: SessionClient): void {
    if (msg.type !== 'lesson') return;
    this.runner.onLesson(session, msg);
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
  sandboxOverrides(s: Session): Omit<SandboxSettings, 'image'> & { baseDir?: string } {
    const { image, ...rest } = this.runner.overrides(s.id);
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
    return this.deps.manager.sessions().map((i) => i.session).filter((s) => !this.instructors.has(s.id) && !s.destroyed);
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
        for (const s of this.learners()) if (s.client) (s.client.send({ type: 'goto', slug: a.slug }), n++);
        return { ok: true, affected: n };
      }
      case 'broadcast':
        return this.setBroadcast(a.sessionId);
      case 'end': {
        this.setBroadcast(null);
        const all = this.deps.manager.sessions().map((i) => i.session);
        for (const s of all) s.client?.send({ type: 'class_ended', message: CLASS_OVER });
        await Promise.all(all.map((s) => this.deps.manager.destroy(s, CLOSE.SESSION_GONE, 'class ended')));
        this.instructors.clear();
        return { ok: true, affected: all.length };
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
    for (const s of this.learners()) if (s.client) (s.client.send({ type: 'broadcast', active: id !== null, name }), n++);
    return { ok: true, affected: n };
  }

  async close(): Promise<void> {
    this.packs.close();
    this.runner.close();
    this.watch.close();
    this.storeInstance?.close();
    this.storeInstance = null;
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
  const dir = path.join(process.env.BOXLAB_HOME ? path.join(process.env.BOXLAB_HOME, 'images') : '/var/lib/boxlab/images', name);
  return fs.existsSync(path.join(dir, 'bin')) ? dir : undefined;
}

export function loadCourse(deps: CourseDeps, opts?: CourseOptions): Course {
  return new Course(deps, opts);
}
