// Session registry: tokens, capacity answers, and the grace / idle / lifetime timers that end sessions.
import { createHash, randomBytes } from 'node:crypto';
import type { SandboxConfig } from '../engine/types.ts';
import { CLOSE, type SessionLimits } from '../protocol/messages.ts';
import { parseBytes } from '../protocol/size.ts';
import type { MemoryAdmission } from './admission.ts';
import type { FlowOptions } from './flow.ts';
import type { InputFlowOptions } from './input-flow.ts';
import { WarmPool } from './pool.ts';
import { Session, type SandboxFactory, type SessionClient } from './session.ts';

export interface SessionManagerOptions {
  factory: SandboxFactory;
  /** Sandbox config for a session (image path, limits, shell); rows/cols are filled in by the session. */
  sandboxConfig: (s: Session) => SandboxConfig | Promise<SandboxConfig>;
  limits: SessionLimits;
  graceSec: number;
  maxSessions: number;
  maxPerClient: number;
  cgroupVersion: 1 | 2;
  flow?: FlowOptions;
  input?: InputFlowOptions;
  scrollback?: number;
  statsIntervalMs?: number;
  /** Seconds without output before a session's mirror is kept only serialized (0 = never). */
  mirrorHibernateSec?: number;
  /**
   * Warm pool (server/sessions/pool.ts): size, and the config of a session with this id and no overrides. Its boxes count
   * against maxSessions (sessions + pool boxes never exceed it, but for a box being made while a session takes the
   * last slot: that one is destroyed as soon as it is ready) and are promised memory under `admission` like a
   * session's (their default limit each).
   */
  pool?: { size: number; config: (id: string) => SandboxConfig | Promise<SandboxConfig> };
  log?: (line: string) => void;
  /** Refuses new sessions before the memory promised to boxes passes what the host can back (admission.ts). */
  admission?: MemoryAdmission;
  /** The default box's memory limit, bytes (ServerConfig.memoryBytes); else read back from limits.memory. */
  memoryBytes?: number;
}

export interface SessionInfo {
  session: Session;
  addr: string;
  name?: string;
  /** Counted against the per-address cap (playground sessions); class members are counted per learner instead. */
  perClient: boolean;
  createdAt: number;
  lastActivity: number;
  /** When the current timer (grace while detached, idle while attached) fires, and the lifetime end (ms, Date.now scale). */
  deadline: number;
  expiresAt: number;
}

export type CreateResult =
  | { ok: true; session: Session; token: string }
  | { ok: false; reason: 'full' | 'client_full' | 'closing'; retryAfterSec: number }
  /** The host cannot back another box's memory limit: message says which limit and when to retry. */
  | { ok: false; reason: 'host_memory'; retryAfterSec: number; message: string; retry: string };

interface Entry extends SessionInfo {
  tokenHash: string;
  timer: NodeJS.Timeout | null;
  lifeTimer: NodeJS.Timeout;
}

// Look-ups go through a hash so comparing a guessed token never leaks how much of a real one matched.
const hashToken = (t: string): string => createHash('sha256').update(t).digest('base64url');

export class SessionManager {
  private readonly byId = new Map<string, Entry>();
  private readonly byToken = new Map<string, Entry>();
  private readonly ending = new Set<Promise<void>>();
  private closing = false;
  /**
   * A drained node (docs/cluster.md) makes no new session and no pool box; live sessions run on to their end.
   * Refused as 'closing' with a short retry: through a balancer the retry lands on another node.
   */
  draining = false;
  private sampling: Promise<void> | null = null;
  private sampledAt = -Infinity;
  /** Names this server process: a client whose session is refused compares it to tell a restart from an expiry. */
  readonly bootId = randomBytes(8).toString('hex');

  /** Boxes made ahead for sessions to come (null when off). */
  readonly pool: WarmPool | null;

  constructor(private readonly opts: SessionManagerOptions) {
    const p = opts.pool;
    this.pool =
      p && p.size > 0
        ? new WarmPool({
            size: p.size,
            factory: opts.factory,
            config: p.config,
            log: opts.log,
            newId: () => randomBytes(6).toString('hex'),
            admit: () => !this.closing && !this.draining && this.byId.size + this.pool!.count < opts.maxSessions && this.admitsPoolBox(),
          })
        : null;
    this.pool?.fill();
  }

  get size(): number {
    return this.byId.size;
  }
  get capacity(): number {
    return this.opts.maxSessions;
  }
  get limits(): SessionLimits {
    return this.opts.limits;
  }
  get cgroupVersion(): 1 | 2 {
    return this.opts.cgroupVersion;
  }

  sessions(): SessionInfo[] {
    return [...this.byId.values()];
  }

  /**
   * A new session owned by whoever holds the token; its sandbox is made when a socket attaches. perClient false: a
   * class member's session (server/classroom/classes.ts caps those per class and learner), not counted per address,
   * so a room behind one NAT is not refused at the fourth learner.
   */
  create(addr: string, name?: string, opts: { perClient?: boolean; limits?: Partial<SessionLimits> } = {}): CreateResult {
    if (this.closing) return { ok: false, reason: 'closing', retryAfterSec: 30 };
    if (this.draining) return { ok: false, reason: 'closing', retryAfterSec: 5 };
    const perClient = opts.perClient !== false;
    const all = [...this.byId.values()];
    const mine = all.filter((e) => e.addr === addr && e.perClient);
    if (all.length >= this.opts.maxSessions) return { ok: false, reason: 'full', retryAfterSec: retryAfter(all) };
    if (perClient && mine.length >= this.opts.maxPerClient) return { ok: false, reason: 'client_full', retryAfterSec: retryAfter(mine) };
    // A pooled box becomes this session's box: the count of boxes and the memory promised stay the same (it passed
    // admission when it was made). Without one, a pool box (one being made, else a ready one) gives its slot back, for
    // the cap and for host memory, before a person is refused. A class member's session has its class's limits, not the pool's
    // defaults: it makes its own box. Its lower limit is not known here either: the default box is counted, which
    // only errs on the safe side.
    const pooled = opts.limits ? null : (this.pool?.take() ?? null);
    if (!pooled) {
      if (this.pool && all.length + this.pool.count >= this.opts.maxSessions) this.pool.giveBack();
      let refused = this.admit(all, !this.pool);
      if (refused && this.pool) {
        this.pool.giveBack(); // a pool box gives its memory back to a person
        refused = this.admit(all);
      }
      if (refused) return refused;
    }
    const id = pooled?.id ?? randomBytes(6).toString('hex');
    const token = randomBytes(32).toString('base64url');
    const session = new Session(id, {
      factory: this.opts.factory,
      sandboxConfig: this.opts.sandboxConfig,
      // What hello tells the page (a class's box limits are lower than the server's).
      limits: { ...this.opts.limits, ...opts.limits },
      cgroupVersion: this.opts.cgroupVersion,
      flow: this.opts.flow,
      input: this.opts.input,
      scrollback: this.opts.scrollback,
      statsIntervalMs: this.opts.statsIntervalMs,
      mirrorHibernateSec: this.opts.mirrorHibernateSec,
      pooled,
      onActivity: () => this.touch(id),
      log: this.opts.log,
    });
    const now = Date.now();
    const lifeMs = this.opts.limits.lifetimeSec * 1000;
    const entry: Entry = {
      session,
      addr,
      name,
      perClient,
      createdAt: now,
      lastActivity: now,
      deadline: 0,
      expiresAt: now + lifeMs,
      tokenHash: hashToken(token),
      timer: null,
      lifeTimer: setTimeout(() => this.end(entry, CLOSE.TIMEOUT, 'session lifetime reached'), lifeMs),
    };
    this.byId.set(id, entry);
    this.byToken.set(entry.tokenHash, entry);
    this.armGrace(entry); // nobody attached yet: a session never connected to is freed after the grace period
    this.opts.log?.(`session ${id} created for ${addr} (${this.byId.size}/${this.opts.maxSessions})`);
    return { ok: true, session, token };
  }

  /** The memory limit a new box gets, bytes: the typed figure; a manager made without it (unit tests) reads the
   * display text it sends browsers (formatBytes output, so exact) with the one grammar. */
  private get defaultMemoryBytes(): number {
    return this.opts.memoryBytes ?? parseBytes(this.opts.limits.memory);
  }

  /** Memory limit each live session's box holds (its current box's, else the default: a new box gets it), bytes. */
  promisedBytes(): number {
    let n = 0;
    for (const e of this.byId.values()) n += e.session.sandbox?.config.memoryBytes ?? this.defaultMemoryBytes;
    // Warm-pool boxes (ready or being made) hold the default limit each until a session takes one.
    return n + (this.pool?.count ?? 0) * this.defaultMemoryBytes;
  }

  /** One more pool box fits the host's memory (the same decision as a session's box; no admission: yes). */
  private admitsPoolBox(): boolean {
    const a = this.opts.admission;
    return !a || a.decide({ promised: this.promisedBytes(), charged: this.chargedBytes(), want: this.defaultMemoryBytes }).ok;
  }

  /** Memory charged to the live boxes, as last sampled (refreshCharged(), and the stats of attached sessions). */
  chargedBytes(): number {
    let n = 0;
    for (const e of this.byId.values()) if (e.session.sandbox) n += e.session.memoryCharged;
    return n;
  }

  /**
   * Samples every box's charged memory (at most every 250 ms; concurrent callers share one sampling) before create().
   * Skipped while the last figures admit two more boxes: charged memory only adds to the backing, and attached
   * boxes report theirs every second anyway (measured: 10 boxes, POST /api/session p50 18 ms sampling, 2.7 ms without).
   */
  refreshCharged(): Promise<void> {
    const a = this.opts.admission;
    if (!a) return Promise.resolve();
    const want = this.defaultMemoryBytes;
    if (a.decide({ promised: this.promisedBytes() + want, charged: this.chargedBytes(), want }).ok) return Promise.resolve();
    if (this.sampling) return this.sampling;
    if (performance.now() - this.sampledAt < 250) return Promise.resolve();
    const p = Promise.allSettled([...this.byId.values()].map((e) => e.session.sampleMemory())).then(() => {
      this.sampledAt = performance.now();
      this.sampling = null;
    });
    return (this.sampling = p);
  }

  /** Host-memory admission of one more box; `log` the refusal (not while a pool box may still give its memory back). */
  private admit(all: SessionInfo[], log = true): CreateResult | null {
    if (!this.opts.admission) return null;
    const v = this.opts.admission.decide({ promised: this.promisedBytes(), charged: this.chargedBytes(), want: this.defaultMemoryBytes });
    if (v.ok) return null;
    // The promise shrinks when a box ends: the soonest deadline is when to try again.
    const retryAfterSec = all.length ? retryAfter(all) : 60;
    if (log) this.opts.log?.(`session refused: host memory (${v.promised} B promised, ${v.backing} B backing)`);
    const retry = `Try again in ${retryAfterSec} s, when a box is due to end.`;
    return { ok: false, reason: 'host_memory', retryAfterSec, message: `${v.message} ${retry}`, retry };
  }

  findByToken(token: string): Session | undefined {
    return this.byToken.get(hashToken(token))?.session;
  }

  get(id: string): Session | undefined {
    return this.byId.get(id)?.session;
  }

  info(id: string): SessionInfo | undefined {
    return this.byId.get(id);
  }

  /** Attaches a client (the previous one, if any, is closed with 4001) and switches from grace to idle timing. */
  attach(session: Session, client: SessionClient): Promise<void> {
    const entry = this.byId.get(session.id);
    if (!entry) {
      client.close(CLOSE.SESSION_GONE, 'session gone');
      return Promise.resolve();
    }
    entry.lastActivity = Date.now();
    this.armIdle(entry);
    return session.attach(client);
  }

  /** The client's socket closed: the session waits for a reconnect for the grace period. */
  detach(session: Session, client: SessionClient): void {
    const entry = this.byId.get(session.id);
    if (session.detach(client) && entry) this.armGrace(entry);
  }

  /** Ends a session now (closing its client with code), awaiting the sandbox's destruction. */
  destroy(session: Session, code: number = CLOSE.SESSION_GONE, reason = 'session gone'): Promise<void> {
    const entry = this.byId.get(session.id);
    return entry ? this.end(entry, code, reason) : session.destroy(code, reason);
  }

  /** Shutdown: refuse new sessions, close every client with code, destroy every sandbox, wait for all of it. */
  async destroyAll(code: number = CLOSE.SHUTDOWN, reason = 'server shutting down'): Promise<void> {
    this.closing = true;
    const pool = this.pool?.close();
    for (const entry of [...this.byId.values()]) void this.end(entry, code, reason);
    while (this.ending.size) await Promise.allSettled([...this.ending]);
    await pool;
  }

  private touch(id: string): void {
    const entry = this.byId.get(id);
    if (entry) entry.lastActivity = Date.now();
  }

  private end(entry: Entry, code: number, reason: string): Promise<void> {
    if (this.byId.get(entry.session.id) === entry) {
      this.byId.delete(entry.session.id);
      this.byToken.delete(entry.tokenHash);
      if (entry.timer) clearTimeout(entry.timer);
      clearTimeout(entry.lifeTimer);
      entry.timer = null;
      this.opts.log?.(`session ${entry.session.id} ended: ${reason}`);
    }
    const notice = code === CLOSE.TIMEOUT ? { type: 'error' as const, code: 'expired', message: reason } : undefined;
    const p = entry.session.destroy(code, reason, notice);
    void p.finally(() => this.pool?.fill()); // a freed slot may go back to the pool
    this.ending.add(p);
    void p.finally(() => this.ending.delete(p));
    return p;
  }

  private setTimer(entry: Entry, ms: number, fn: () => void): void {
    if (entry.timer) clearTimeout(entry.timer);
    entry.deadline = Date.now() + ms;
    entry.timer = setTimeout(fn, ms);
  }

  private armGrace(entry: Entry): void {
    this.setTimer(entry, this.opts.graceSec * 1000, () => this.end(entry, CLOSE.SESSION_GONE, 'grace period over'));
  }

  /** One timer per session, re-armed for the remainder when it fires early, instead of one per keystroke. */
  private armIdle(entry: Entry): void {
    const idleMs = this.opts.limits.idleSec * 1000;
    const left = entry.lastActivity + idleMs - Date.now();
    this.setTimer(entry, Math.max(0, left), () => {
      if (!entry.session.client) return;
      if (Date.now() - entry.lastActivity >= idleMs) void this.end(entry, CLOSE.TIMEOUT, 'idle timeout');
      else this.armIdle(entry);
    });
  }
}

/** Seconds until the first of these sessions is due to end (grace, idle or lifetime), at least 1. */
function retryAfter(entries: SessionInfo[]): number {
  const now = Date.now();
  const soonest = Math.min(...entries.map((e) => Math.min(e.deadline, e.expiresAt)));
  return Math.min(3600, Math.max(1, Math.ceil((soonest - now) / 1000)));
}
