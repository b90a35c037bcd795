// Classes as first-class things: create, join (caps per class and per learner, not per address), roster, CSV, archive.
import { CLOSE } from '../protocol/messages.ts';
import {
  classCapRequest,
  cleanName,
  createClassRequest,
  formatResume,
  normalizeCode,
  type ClassLimits,
  type ClassSummary,
  type JoinRequest,
  type RefusalReason,
  type RosterEntry,
} from '../protocol/classes.ts';
import type { Limits } from '../lessons/settings.ts';
import { formatBytes, parseBytes } from '../protocol/size.ts';
import type { Session } from '../sessions/session.ts';
import type { CreateResult, SessionManager } from '../sessions/manager.ts';
import { type ClassStore, memberKey, type ClassRow, type MemberRow } from './class-store.ts';
import { classCsv } from './csv.ts';

export interface Refusal {
  ok: false;
  status: 400 | 404 | 409 | 429 | 503;
  error: 'bad_request' | 'not_found' | 'full';
  reason?: RefusalReason;
  message: string;
  retryAfterSec?: number;
  limit?: number;
}
export type JoinResult = { ok: true; cls: ClassRow; member: MemberRow; resume: string | null; session: Session; token: string } | Refusal;

export interface ClassesDeps {
  manager: SessionManager;
  store: () => ClassStore;
  /** The server's own box limits: a class may lower them, never raise them (like a lesson, lessons/settings.ts). */
  limits: Limits;
  graceSec: number;
  maxPerClient: number;
  lesson: (slug: string) => { title: string; steps: string[] } | undefined;
  log: (line: string) => void;
}

/** The words a refused learner reads, with when to try again (docs/protocol.md, "Refusals"). */
export function refusal(reason: RefusalReason, retryAfterSec: number, limit?: number): Refusal {
  const words: Record<RefusalReason, string> = {
    server_full: `Every sandbox on this server is in use (${limit} at most).`,
    client_full: `This network address already has ${limit} playground ${limit === 1 ? 'sandbox' : 'sandboxes'}, the most one address may have. Close one in another tab, or join a class with its code.`,
    class_full: `This class is full (${limit} learners). Ask the instructor to raise the limit.`,
    learner_has_box: 'Your sandbox is open in another browser or tab. Close it there, or wait until it lets go.',
    join_rate: 'Too many join attempts from this network address.',
    closing: 'The server is shutting down.',
  };
  const status = reason === 'join_rate' ? 429 : reason === 'learner_has_box' ? 409 : 503;
  return { ok: false, status, error: 'full', reason, message: words[reason], retryAfterSec: Math.max(1, Math.round(retryAfterSec)), limit };
}

/** A refused SessionManager.create as a typed refusal. */
export function sessionRefusal(r: Exclude<CreateResult, { ok: true }>, manager: SessionManager, maxPerClient: number): Refusal {
  if (r.reason === 'closing') return refusal('closing', r.retryAfterSec);
  return r.reason === 'client_full'
    ? refusal('client_full', r.retryAfterSec, maxPerClient)
    : refusal('server_full', r.retryAfterSec, manager.capacity);
}

const bad = (message: string, status: 400 | 404 = 400): Refusal => ({
  ok: false,
  status,
  error: status === 404 ? 'not_found' : 'bad_request',
  message,
});

export class Classes {
  /**
   * Live sessions of class members: session id → member (the box's limits, the name and the progress key come from
   * it). The name and the class's limits never change once made: kept here, the box's start asks no database.
   */
  private readonly bySession = new Map<string, { memberId: string; classId: string; name: string; limits: ClassLimits }>();

  constructor(private readonly deps: ClassesDeps) {}

  /** Parses and validates a class from the instructor: lessons that exist, limits within the server's. */
  async create(body: unknown): Promise<{ ok: true; cls: ClassRow } | Refusal> {
    const p = createClassRequest.safeParse(body);
    if (!p.success) return bad(p.error.issues[0]?.message ?? 'invalid class');
    const { lessons, limits, cap } = p.data;
    // The class's name is projected, logged and exported: the same rules as a learner's name.
    const clean = cleanName(p.data.name, 80);
    if (!clean.ok) return bad(`class name: ${clean.message}`);
    const name = clean.name;
    const unknown = lessons.filter((s) => !this.deps.lesson(s));
    if (unknown.length) return bad(`no such lesson: ${unknown.join(', ')}`);
    const server = this.deps.limits;
    // Stored and shown in the display form ("96M", "0.3"); parsed once here with the one size grammar.
    const out: ClassLimits = { memory: formatBytes(server.memoryBytes), cpuLimit: String(server.cpuFraction), pids: server.pids };
    if (limits.memory !== undefined) {
      let b: number;
      try {
        b = parseBytes(limits.memory);
      } catch (err) {
        return bad(`memory ${JSON.stringify(limits.memory)} ${(err as Error).message}`);
      }
      if (!(b >= 16 * 1024 ** 2)) return bad('memory must be at least 16M');
      if (b > server.memoryBytes)
        return bad(`memory ${limits.memory} is more than this server gives a box (${formatBytes(server.memoryBytes)})`);
      out.memory = formatBytes(b);
    }
    if (limits.cpus !== undefined) {
      const c = Number(limits.cpus);
      if (!(c >= 0.01)) return bad('cpus must be at least 0.01');
      if (c > server.cpuFraction) return bad(`cpus ${limits.cpus} is more than this server gives a box (${server.cpuFraction})`);
      out.cpuLimit = String(c);
    }
    if (limits.pids !== undefined) {
      if (limits.pids > server.pids) return bad(`pids ${limits.pids} is more than this server gives a box (${server.pids})`);
      out.pids = limits.pids;
    }
    const cls = await this.deps.store().createClass({ name, lessons: [...new Set(lessons)], limits: out, cap });
    this.deps.log(`class "${cls.name}" created: code ${cls.code}, ${JSON.stringify(out)}, cap ${cap}`);
    return { ok: true, cls };
  }

  /** A new learner cap (a full class takes more learners); members already in stay whatever the cap. */
  async setCap(id: string, body: unknown): Promise<{ ok: true; cap: number } | Refusal> {
    const p = classCapRequest.safeParse(body);
    if (!p.success) return bad(p.error.issues[0]?.message ?? 'invalid cap');
    if (!(await this.deps.store().setCap(id, p.data.cap))) return bad('no open class with this id', 404);
    return { ok: true, cap: p.data.cap };
  }

  /** Code + name (a new member, or the same one with its resume code), or the resume code alone; then a box. */
  async join(req: JoinRequest, addr: string): Promise<JoinResult> {
    const store = this.deps.store();
    let cls: ClassRow | undefined;
    let member: MemberRow | undefined;
    let name: string | null = null;
    if (req.code !== undefined) {
      const code = normalizeCode(req.code);
      cls = code ? await store.openClassByCode(code) : undefined;
      if (!cls) return bad('No open class has this code. Check it with your instructor.', 404);
    }
    if (req.name !== undefined) {
      const n = cleanName(req.name);
      if (!n.ok) return bad(n.message);
      name = n.name;
    }
    if (req.resume !== undefined) {
      const code = normalizeCode(req.resume, 10);
      member = code ? await store.memberByResume(code) : undefined;
      // With the class code and name too, all three must agree: a resume code of another class or person is refused.
      if (!member || (cls && member.classId !== cls.id) || (name !== null && member.name !== name)) {
        return bad('This resume code does not match. Check it, or join with a new name.', 404);
      }
      cls = await store.getClass(member.classId);
      if (!cls || cls.endedAt !== null) return bad('This class has ended.', 404);
    }
    if (!cls) return bad('give the class code and your name, or your resume code');
    if (member) {
      const live = this.sessionOf(member.id);
      if (live?.client) return refusal('learner_has_box', this.deps.graceSec);
      // A learner back from another browser takes their place over: the old box, nobody attached, is let go.
      if (live) void this.deps.manager.destroy(live, CLOSE.REPLACED, 'the learner joined from another browser');
    } else if ((await store.memberCount(cls.id)) >= cls.cap) {
      return refusal('class_full', 60, cls.cap);
    }
    const created = this.deps.manager.create(addr, member?.name ?? name ?? undefined, { perClient: false, limits: cls.limits });
    if (!created.ok) return sessionRefusal(created, this.deps.manager, this.deps.maxPerClient);
    let resume: string | null = null;
    try {
      if (!member) ({ member, resume } = await store.addMember(cls.id, name!));
      await store.seen(member.id);
    } catch (err) {
      // The database failed between the box and the roster: the box is let go, the route answers 503 (api.ts).
      void this.deps.manager.destroy(created.session, CLOSE.SESSION_GONE, 'the class database is not answering');
      throw err;
    }
    this.bySession.set(created.session.id, { memberId: member.id, classId: cls.id, name: member.name, limits: cls.limits });
    this.deps.log(`class ${cls.code}: ${member.name} ${resume ? 'joined' : 'is back'} (session ${created.session.id})`);
    return { ok: true, cls, member, resume: resume && formatResume(resume), session: created.session, token: created.token };
  }

  /** The member a live session belongs to (sessions that ended are forgotten here). */
  memberOf(sessionId: string): { memberId: string; classId: string; name: string; limits: ClassLimits } | undefined {
    const m = this.bySession.get(sessionId);
    if (m && !this.deps.manager.get(sessionId)) return void this.bySession.delete(sessionId);
    return m;
  }
  /** Progress key of a class member's session (the runner records passed steps under it). */
  keyOf(sessionId: string): string | undefined {
    const m = this.memberOf(sessionId);
    return m && memberKey(m.memberId);
  }
  /** Box limits of a class member's session. */
  /** The member's box limits as numbers (the class row keeps the display form), or undefined for a non-member. */
  limitsOf(sessionId: string): { memoryBytes: number; cpuFraction: number; pids: number } | undefined {
    const c = this.memberOf(sessionId)?.limits;
    return c && { memoryBytes: parseBytes(c.memory), cpuFraction: Number(c.cpuLimit), pids: c.pids };
  }
  nameOf(sessionId: string): string | undefined {
    return this.memberOf(sessionId)?.name;
  }
  /** The progress key of the member this resume code names (GET /api/progress of a class member), if any. */
  async keyOfResume(code: string): Promise<string | undefined> {
    const c = normalizeCode(code, 10);
    const m = c ? await this.deps.store().memberByResume(c) : undefined;
    return m && memberKey(m.id);
  }
  /** A member's step opened (first time only), and they are seen now; a database failure is logged, the lesson goes on. */
  async opened(sessionId: string, slug: string, step: number): Promise<void> {
    const m = this.memberOf(sessionId);
    if (!m) return;
    try {
      await this.deps.store().opened(memberKey(m.memberId), slug, step);
      await this.deps.store().seen(m.memberId);
    } catch (err) {
      this.deps.log(`class: step opened not recorded (${(err as Error).message})`);
    }
  }

  private sessionOf(memberId: string): Session | undefined {
    for (const [sid, m] of [...this.bySession]) {
      if (m.memberId !== memberId) continue;
      const s = this.deps.manager.get(sid);
      if (s) return s;
      this.bySession.delete(sid);
    }
    return undefined;
  }

  async summary(cls: ClassRow): Promise<ClassSummary> {
    const store = this.deps.store();
    const online = new Set(
      [...this.bySession.entries()].filter(([sid, m]) => m.classId === cls.id && this.deps.manager.get(sid)).map(([, m]) => m.memberId),
    );
    return { ...cls, members: await store.memberCount(cls.id), online: online.size };
  }

  async list(): Promise<{ active: ClassSummary[]; archived: ClassSummary[] }> {
    const all = await Promise.all((await this.deps.store().classes()).map((c) => this.summary(c)));
    return { active: all.filter((c) => c.endedAt === null), archived: all.filter((c) => c.endedAt !== null) };
  }

  async roster(cls: ClassRow): Promise<RosterEntry[]> {
    const store = this.deps.store();
    const members = await store.members(cls.id);
    const allTimes = await Promise.all(members.map((m) => store.stepTimes(memberKey(m.id))));
    return members.map((m, i) => {
      const times = allTimes[i]!;
      return {
        memberId: m.id,
        name: m.name,
        joinedAt: m.joinedAt,
        seenAt: m.seenAt,
        sessionId: cls.endedAt === null ? (this.sessionOf(m.id)?.id ?? null) : null,
        steps: [...times].map(([k, t]) => ({ slug: k.slice(0, k.lastIndexOf('#')), step: Number(k.slice(k.lastIndexOf('#') + 1)), ...t })),
      };
    });
  }

  async csv(cls: ClassRow): Promise<string> {
    const store = this.deps.store();
    const members = await Promise.all(
      (await store.members(cls.id)).map(async (m) => ({
        name: m.name,
        joinedAt: m.joinedAt,
        times: await store.stepTimes(memberKey(m.id)),
      })),
    );
    return classCsv({ cls, members, lesson: this.deps.lesson });
  }

  /** Archives the class (read-only from now on) and ends its members' boxes with a "class over" word. */
  async end(id: string): Promise<{ ok: true; affected: number } | Refusal> {
    const cls = await this.deps.store().getClass(id);
    if (!cls) return bad('no such class', 404);
    if (!(await this.deps.store().endClass(id))) return bad('this class has already ended');
    const sessions = [...this.bySession]
      .filter(([, m]) => m.classId === id)
      .map(([sid]) => this.deps.manager.get(sid))
      .filter((s): s is Session => !!s);
    for (const s of sessions) s.client?.send({ type: 'class_ended', message: `The class "${cls.name}" is over. Your progress is saved.` });
    await Promise.all(sessions.map((s) => this.deps.manager.destroy(s, CLOSE.SESSION_GONE, 'class ended')));
    this.deps.log(`class ${cls.code} ended and archived (${sessions.length} box(es) closed)`);
    return { ok: true, affected: sessions.length };
  }
}
