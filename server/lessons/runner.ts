// Runs the check of the step each learner is on, about once a second and right after Enter, only while their socket is attached.
import type { SandboxHandle } from '../engine/types.ts';
import type { CheckMsg, LessonMsg, SandboxSettings } from '../protocol/lessons.ts';
import type { BoxSettings } from '../protocol/settings.ts';
import type { Session } from '../sessions/session.ts';
import type { CheckResult, Memo } from './checks.ts';
import type { LoadedLesson } from './loader.ts';
import { RealProbe, type BoxProbe } from './probe.ts';
import { learnerKey, type ProgressStore } from './progress.ts';
import { CostMeter } from './cost.ts';
import { boxSettingsText, settingsFor, settingsMatch, type Limits } from './settings.ts';

export interface LearnerState {
  sessionId: string;
  key: string | null;
  name: string;
  slug: string | null;
  step: number;
  /** Date.now() when the learner arrived at this step, and when it passed (null: not yet). */
  stepSince: number;
  passedAt: number | null;
  last: CheckResult | null;
  memo: Memo | null;
  memoFor: string;
  /** The check the memo was made for: a pack reloaded mid-step gets a fresh baseline for its new check. */
  memoCheck: unknown;
  inflight: boolean;
  /** performance.now() of the last run, for spacing out costly checks on the periodic tick. */
  lastRun: number;
  sentKey: string;
  overrides: BoxSettings;
  /** The settings the current box was built with (as overrides() last answered). */
  built: BoxSettings;
  quick: NodeJS.Timeout[];
  /** The last check message on its way (send() reads the store first). */
  sending: Promise<void>;
}

export interface RunnerOptions {
  lessons: () => Map<string, LoadedLesson>;
  store: () => ProgressStore;
  getSession: (id: string) => Session | undefined;
  /** Server limits: lesson settings may lower them, never raise them. */
  limits: Limits;
  intervalMs?: number;
  /** Checks after Enter (default 60, 250, 700 ms): typed commands usually finish within these delays. */
  quickDelaysMs?: number[];
  maxConcurrent?: number;
  probeFor?: (sb: SandboxHandle, s: Session) => BoxProbe;
  /** A session bound to a class member: its progress key (the browser's learner id is not used then). */
  keyOf?: (sessionId: string) => string | undefined;
  /** A class member's box limits (lower than the server's): a lesson's settings are capped by these instead. */
  limitsOf?: (sessionId: string) => Limits | undefined;
  log?: (line: string) => void;
}

export class CheckRunner {
  readonly states = new Map<string, LearnerState>();
  readonly cost = new CostMeter();
  private readonly probes = new Map<string, BoxProbe>();
  private readonly lastProbe = new Map<string, BoxProbe>();
  private running = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly opts: RunnerOptions) {
    this.timer = setInterval(() => this.tick(), opts.intervalMs ?? 1000);
    this.timer.unref();
  }

  /**
   * The learner said where they are (after every hello, and on every step change). Where they are is known when this
   * returns; whether the step was passed before (another node, an earlier visit) comes from the store, awaited. A
   * database that does not answer is logged and the step counts as not passed yet: the check runs as usual.
   */
  async onLesson(session: Session, msg: LessonMsg): Promise<void> {
    const st = this.stateOf(session.id);
    const bound = this.opts.keyOf?.(session.id);
    if (bound) st.key = bound;
    else if (msg.learner) {
      st.key = learnerKey(msg.learner);
      this.opts
        .store()
        .touch(st.key, msg.name || undefined)
        .catch((err: Error) => this.opts.log?.(`progress: learner not recorded (${err.message})`));
    }
    if (msg.name !== undefined && !bound) st.name = msg.name;
    const lesson = msg.slug ? this.opts.lessons().get(msg.slug) : undefined;
    const slug = lesson ? msg.slug : null;
    const step = lesson ? Math.min(msg.step, lesson.specs.length - 1) : 0;
    if (slug !== st.slug || step !== st.step) {
      st.slug = slug;
      st.step = step;
      st.stepSince = Date.now();
      st.passedAt = null;
      st.last = null;
      st.memo = null;
      st.sentKey = '';
      if (lesson && st.key) {
        const done = await this.passedSteps(st.key, lesson.lesson.slug);
        if (st.slug !== slug || st.step !== step) return; // moved on meanwhile: that message does the rest
        if (done.includes(step)) st.passedAt = Date.now();
      }
    } else st.sentKey = ''; // same step again (a reload): send the current result anew
    this.ensureSettings(session, st, lesson); // also outside a lesson: a box made for one goes back to the defaults
    if (st.passedAt !== null) this.send(session, st, { ok: true, message: 'passed' }, 0);
    else void this.run(session, st);
  }

  /** Keystrokes: after Enter, check again soon rather than waiting for the next tick. */
  onInput(session: Session, data: Buffer): void {
    const st = this.states.get(session.id);
    if (!st?.slug || st.passedAt !== null || !data.includes(13)) return;
    for (const t of st.quick) clearTimeout(t);
    st.quick = (this.opts.quickDelaysMs ?? [60, 250, 700]).map((ms) => setTimeout(() => void this.run(session, st), ms));
  }

  /** Sandbox settings of the lesson this session is in (merged into its sandbox config at creation). */
  overrides(sessionId: string): BoxSettings {
    const st = this.states.get(sessionId);
    if (st) st.built = st.overrides; // asked for while the box is made: what the next box is built with
    return st?.overrides ?? {};
  }

  forget(sessionId: string): void {
    const st = this.states.get(sessionId);
    for (const t of st?.quick ?? []) clearTimeout(t);
    this.states.delete(sessionId);
    this.lastProbe.delete(sessionId);
  }

  close(): void {
    clearInterval(this.timer);
    for (const id of [...this.states.keys()]) this.forget(id);
  }

  private stateOf(id: string): LearnerState {
    let st = this.states.get(id);
    if (!st) {
      st = {
        sessionId: id,
        key: null,
        name: '',
        slug: null,
        step: 0,
        stepSince: Date.now(),
        passedAt: null,
        last: null,
        memo: null,
        memoFor: '',
        memoCheck: null,
        inflight: false,
        lastRun: 0,
        sentKey: '',
        overrides: {},
        built: {},
        quick: [],
        sending: Promise.resolve(),
      };
      this.states.set(id, st);
    }
    return st;
  }

  private tick(): void {
    for (const [id, st] of this.states) {
      const s = this.opts.getSession(id);
      if (!s || s.destroyed) {
        this.forget(id);
        continue;
      }
      const lesson = st.slug ? this.opts.lessons().get(st.slug) : undefined;
      this.ensureSettings(s, st, lesson);
      if (!lesson || st.passedAt !== null) continue;
      // A check that forks a helper (nsenter, ~10 ms) runs less often on the tick; Enter still re-checks at once.
      const type = lesson.specs[st.step]?.check.type ?? '';
      const every = Math.min(5000, Math.max(this.opts.intervalMs ?? 1000, this.cost.recentMean(type) * 300));
      if (performance.now() - st.lastRun >= every - 50) void this.run(s, st);
    }
    for (const sbId of this.probes.keys()) {
      if (![...this.states.keys()].some((id) => this.opts.getSession(id)?.sandbox?.id === sbId)) this.probes.delete(sbId);
    }
  }

  /**
   * A lesson that needs other limits (e.g. 64M for the OOM lesson) gets a sandbox rebuilt with them; leaving it (for a
   * lesson without settings, or the playground: no lesson) rebuilds a default box, so the next lesson does not run
   * in the 64 MiB box. Lab mode and a pack's image count only when this runner asked for them (`built`): the
   * instructor's box is a lab box for the course, not for a lesson, and stays one. A class member's limits are the
   * class's (limitsOf), not the server's.
   */
  private ensureSettings(s: Session, st: LearnerState, lesson: LoadedLesson | undefined): void {
    const limits = this.opts.limitsOf?.(s.id) ?? this.opts.limits;
    const want = settingsFor(lesson?.settings ?? {}, limits);
    st.overrides = want;
    const sb = s.sandbox;
    if (!sb || s.state !== 'running') return;
    const leftLab = !want.lab && st.built.lab === true && sb.config.lab === true;
    const leftImage = !want.image && st.built.image !== undefined;
    if (settingsMatch(sb.config, want, limits) && !leftLab && !leftImage) return;
    const what = lesson ? `lesson ${lesson.lesson.slug}` : 'no lesson';
    this.opts.log?.(`session ${s.id}: rebuilding the sandbox for ${what} (${JSON.stringify(boxSettingsText(want))})`);
    const limitsText = Object.keys(want).length
      ? `the limits this lesson needs (${describe(boxSettingsText(want))})`
      : "the server's default limits";
    this.send(s, st, { ok: false, message: `Rebuilding your sandbox with ${limitsText}…` }, 0);
    st.built = want; // one rebuild per change, even before the new box asks for its overrides
    void s.reset();
  }

  private async run(s: Session, st: LearnerState): Promise<void> {
    const lesson = st.slug ? this.opts.lessons().get(st.slug) : undefined;
    if (!lesson || st.inflight || st.passedAt !== null || !s.client || s.destroyed) return;
    const spec = lesson.specs[st.step];
    if (!spec) return; // a reloaded lesson may have fewer steps
    const check = spec.check;
    if (!check.states.includes(s.state as 'running' | 'exited')) return;
    let probe: BoxProbe | undefined;
    if (s.sandbox) {
      probe = this.probes.get(s.sandbox.id);
      if (!probe) {
        const sb = s.sandbox;
        probe = this.opts.probeFor ? this.opts.probeFor(sb, s) : new RealProbe(sb, () => s.events);
        this.probes.set(sb.id, probe);
      }
      this.lastProbe.set(s.id, probe);
    } else if (s.state === 'exited') probe = this.lastProbe.get(s.id);
    if (!probe) return;
    if (this.running >= (this.opts.maxConcurrent ?? 16)) return;
    // At most one run per 50 ms per learner: a flood of lesson messages cannot make the server fork nsenter without bound.
    if (performance.now() - st.lastRun < 50) return;
    st.inflight = true;
    st.lastRun = performance.now();
    this.running++;
    const slug = st.slug;
    const step = st.step;
    const t0 = performance.now();
    let result: CheckResult;
    try {
      const memoFor = `${probe.id}|${slug}|${step}`;
      if (st.memoFor !== memoFor || !st.memo || st.memoCheck !== check) {
        st.memo = await check.init(probe);
        st.memoFor = memoFor;
        st.memoCheck = check;
      }
      result = await check.run(probe, st.memo, { openedAt: st.stepSince });
    } catch (err) {
      result = { ok: false, message: `the check could not read the box: ${(err as Error).message}` };
    } finally {
      st.inflight = false;
      this.running--;
    }
    const ms = performance.now() - t0;
    this.cost.add(spec.check.type, ms);
    if (st.slug !== slug || st.step !== step || st.passedAt !== null) return; // moved on meanwhile
    st.last = result;
    if (result.ok) {
      st.passedAt = Date.now();
      if (st.key)
        await this.opts
          .store()
          .pass(st.key, lesson.lesson.slug, step)
          .catch((err: Error) => this.opts.log?.(`progress: step passed not recorded (${err.message})`));
    }
    this.send(s, st, result, ms);
  }

  /** Steps passed, or none when the database does not answer (logged). */
  private passedSteps(key: string, slug: string): Promise<number[]> {
    return this.opts
      .store()
      .passedSteps(key, slug)
      .catch((err: Error) => (this.opts.log?.(`progress: cannot read passed steps (${err.message})`), []));
  }

  /** Sends a check result; the messages of one learner leave in the order they were made (the lesson's state is read from the store). */
  private send(s: Session, st: LearnerState, r: CheckResult, ms: number): void {
    const lesson = st.slug ? this.opts.lessons().get(st.slug) : undefined;
    if (!lesson || !s.client) return;
    const passed = st.passedAt !== null;
    const key = `${st.slug}|${st.step}|${r.ok}|${passed}|${r.message}`;
    if (key === st.sentKey) return;
    st.sentKey = key;
    const step = st.step;
    const ready = st.key ? this.passedSteps(st.key, lesson.lesson.slug) : Promise.resolve(passed ? [step] : []);
    // Chained: a later message never overtakes an earlier one whose store read was slower.
    st.sending = st.sending
      .then(async () => {
        const done = await ready;
        // Passed now, even if the store did not say so (it was down when the step passed).
        if (passed && !done.includes(step)) done.push(step);
        this.sendCheck(s, lesson, step, r, passed, done, ms);
      })
      .catch((err: Error) => this.opts.log?.(`session ${s.id}: check result not sent (${err.message})`));
  }

  private sendCheck(s: Session, lesson: LoadedLesson, step: number, r: CheckResult, passed: boolean, done: number[], ms: number): void {
    if (!s.client) return;
    const msg: CheckMsg = {
      type: 'check',
      slug: lesson.lesson.slug,
      step,
      ok: r.ok,
      passed,
      message: r.message,
      lessonDone: lesson.specs.every((_, i) => done.includes(i)),
      ms: Math.round(ms * 100) / 100,
    };
    s.client.send(msg);
  }
}

function describe(s: SandboxSettings): string {
  return [s.memory && `memory ${s.memory}`, s.cpuLimit && `cpu ${s.cpuLimit}`, s.pids && `pids ${s.pids}`, s.lab && 'lab mode']
    .filter(Boolean)
    .join(', ');
}
