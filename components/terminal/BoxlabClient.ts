// Browser side of the Boxlab protocol: creates/resumes a session, streams pty bytes to a terminal sink with acks, reconnects.
import {
  ACK_EVERY,
  CLOSE,
  DEFAULT_WS_PATH,
  MAX_INPUT_FRAME,
  NEW_SESSION,
  SUBPROTOCOL,
  TOKEN_PROTOCOL_PREFIX,
  parseServerMessage,
  type ClientMessage,
  type ServerMessage,
  type SessionState,
} from './protocol';
import { requestSession, serverHealth } from './session-api';
import { SessionStore, backoffMs, type StoredSession } from './session-store';
import {
  ENDED_BY_CODE,
  GONE,
  INITIAL_VIEW as INITIAL,
  type ClientDeps,
  type ClientView,
  type Phase,
  type TerminalSink,
  type WebSocketLike,
} from './client-types';

export type { ClientDeps, ClientView, Phase, TerminalSink, WebSocketLike };

const OPEN = 1;
/** The first ping waits for the page to settle after attach, so the RTT shown is the steady one. */
const FIRST_PING_MS = 1_000;
const PING_EVERY_MS = 10_000;

export class BoxlabClient {
  private view: ClientView = INITIAL;
  private readonly listeners = new Set<() => void>();
  /** Readers of every validated control message, after the client handled it (the x-ray's own state). */
  private readonly controlListeners = new Set<(msg: ServerMessage) => void>();
  private readonly store: SessionStore;
  private session: StoredSession | null = null;
  private ws: WebSocketLike | null = null;
  /** Bumped on every new socket so callbacks of an old socket (and its queued xterm writes) are ignored. */
  private gen = 0;
  private parsedSinceAck = 0;
  private helloSeen = false;
  private size: { rows: number; cols: number } | null = null;
  private timer: unknown = null;
  private pingTimer: unknown = null;
  private disposed = false;
  /** A batched view notification is scheduled (deps.scheduleRender). */
  private notifyPending = false;
  /** Counters for the e2e and the stats line. */
  readonly metrics = { bytesIn: 0, acks: 0, bytesAcked: 0, framesOut: 0 };

  constructor(
    private readonly sink: TerminalSink,
    private readonly deps: ClientDeps,
  ) {
    this.store = new SessionStore(deps.storage);
  }

  getView = (): ClientView => this.view;

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  /** On page load: reattach to the session this tab had before a reload. Returns false when there is none. */
  resume(): boolean {
    const stored = this.store.load();
    if (!stored) return false;
    this.session = stored;
    this.update({ phase: 'connecting', limits: stored.limits, sessionId: stored.sessionId });
    this.connect();
    return true;
  }

  /** The Start button: resume if possible, else create a session. */
  start(): void {
    if (!this.resume()) void this.create();
  }

  /** Forget the current session (if any) and ask for a new one. */
  newSession(): void {
    this.closeSocket();
    this.store.clear();
    this.session = null;
    void this.create();
  }

  /** After close 4001 (another tab): take the session back into this tab. */
  takeOver(): void {
    if (this.session) this.connect();
  }

  /** Skip the backoff wait (the browser came back online, or the user clicked "retry now"). */
  retryNow(): void {
    if (this.view.phase === 'reconnecting') this.connect();
    else if (this.view.phase === 'full' || this.view.phase === 'error') this.start();
  }

  /** Fresh sandbox in place of the current one. False when not connected. */
  reset(): boolean {
    return this.restartLike('reset');
  }

  /** Boot again after the shell exited or the build failed. False when not connected. */
  restart(): boolean {
    return this.restartLike('restart');
  }

  resize(rows: number, cols: number): void {
    if (this.size && this.size.rows === rows && this.size.cols === cols) return;
    this.size = { rows, cols };
    // Before hello the size waits: hello is answered with it, so the server gets it once, in order.
    if (this.helloSeen) this.send({ type: 'resize', rows, cols });
  }

  /** Keystrokes and pastes, as binary frames; never held back by flow control. */
  input(data: string | Uint8Array): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== OPEN) return false;
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    for (let i = 0; i < bytes.length; i += MAX_INPUT_FRAME) {
      ws.send(bytes.subarray(i, i + MAX_INPUT_FRAME));
      this.metrics.framesOut++;
    }
    return true;
  }

  /** Every control message from now on (the x-ray subscribes here); returns the unsubscribe. */
  onControl(fn: (msg: ServerMessage) => void): () => void {
    this.controlListeners.add(fn);
    return () => this.controlListeners.delete(fn);
  }

  /** Sends a control message the client itself does not manage (the x-ray subscription); false when not connected. */
  control(msg: ClientMessage): boolean {
    return this.send(msg);
  }

  dispose(): void {
    this.disposed = true;
    this.clearTimers();
    this.closeSocket();
    this.listeners.clear();
    this.controlListeners.clear();
  }

  private async create(): Promise<void> {
    this.clearTimers();
    this.update({ ...INITIAL, phase: 'creating' });
    // The socket asks for its session at the upgrade: no POST round trip before it (a refusal falls back to the POST).
    if (this.deps.createOverSocket?.()) return this.connect(true);
    return this.post();
  }

  /** POST /api/session: created (then the socket), full (retry later) or an error in words. */
  private async post(): Promise<void> {
    this.clearTimers();
    const r = await requestSession(this.deps);
    if (this.disposed) return;
    if (r.kind === 'full') {
      const ms = r.retryAfterSec * 1000;
      this.update({
        phase: 'full',
        retryAt: this.deps.now() + ms,
        message: r.message ?? 'Every sandbox is in use.',
        refusal: r.reason ?? 'server_full',
      });
      this.timer = this.deps.setTimeout(() => void this.create(), ms);
    } else if (r.kind === 'error') {
      this.update({ phase: 'error', message: r.message });
    } else {
      this.session = r.session;
      this.store.save(r.session);
      this.update({ sessionId: r.session.sessionId, limits: r.session.limits });
      this.connect();
    }
  }

  /** Opens the session's socket; asNew: a socket that asks for a new session (no session yet). */
  private connect(asNew = false): void {
    const session = this.session;
    if ((!session && !asNew) || this.disposed) return;
    this.clearTimers();
    this.closeSocket();
    const gen = ++this.gen;
    this.parsedSinceAck = 0;
    this.helloSeen = false;
    let opened = false;
    const url = this.deps.origin.replace(/^http/, 'ws') + (session?.wsPath ?? DEFAULT_WS_PATH);
    const ws = this.deps.createWebSocket(url, [SUBPROTOCOL, session ? TOKEN_PROTOCOL_PREFIX + session.token : NEW_SESSION]);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => {
      opened = true;
    };
    ws.onmessage = (ev) => {
      if (gen === this.gen) this.onMessage(gen, ev.data);
    };
    ws.onerror = () => {};
    ws.onclose = (ev) => {
      if (gen === this.gen) void this.onClose(ev.code, opened);
    };
  }

  private onMessage(gen: number, data: unknown): void {
    if (typeof data !== 'string') {
      const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : (data as Uint8Array);
      this.metrics.bytesIn += bytes.length;
      this.sink.write(bytes, () => this.parsed(gen, bytes.length));
      return;
    }
    const msg = parseServerMessage(data);
    if (!msg) return;
    this.handle(msg);
    for (const fn of this.controlListeners) fn(msg);
  }

  /** xterm's write callback: count what it really parsed and ack in ≥ ACK_EVERY steps (flow control, see terminal.md). */
  private parsed(gen: number, n: number): void {
    if (gen !== this.gen) return;
    this.parsedSinceAck += n;
    if (this.parsedSinceAck >= ACK_EVERY) {
      const bytes = this.parsedSinceAck;
      this.parsedSinceAck = 0;
      this.metrics.acks++;
      this.metrics.bytesAcked += bytes;
      this.send({ type: 'ack', bytes });
    }
  }

  private handle(msg: ServerMessage): void {
    switch (msg.type) {
      case 'created': {
        // The session this socket's upgrade made: kept like POST /api/session's answer, for reconnects and reloads.
        const { sessionId, token, wsPath, limits, bootId } = msg;
        this.session = { sessionId, token, wsPath, limits, ...(bootId ? { bootId } : {}) };
        this.store.save(this.session);
        this.update({ sessionId, limits });
        return;
      }
      case 'hello':
        this.helloSeen = true;
        this.update({
          phase: phaseOf(msg.state),
          sessionId: msg.sessionId,
          limits: msg.limits,
          cgroupVersion: msg.cgroupVersion,
          resumed: msg.resumed,
          stages: [],
          attempt: 0,
          retryAt: null,
          message: null,
        });
        if (!msg.resumed) this.sink.reset();
        if (this.size) this.send({ type: 'resize', ...this.size });
        this.startPing();
        return;
      case 'state':
        if (msg.state === 'creating') this.sink.reset();
        this.update({
          phase: phaseOf(msg.state),
          ...(msg.state === 'running' || msg.state === 'creating' ? { exit: null } : {}),
          ...(msg.state === 'full' ? { message: 'Every sandbox is in use; try again in a moment.', retryAt: null } : {}),
        });
        return;
      case 'stage': {
        // Stages are replayed in full on attach; a new run (reset/restart) starts at prepare_state.
        const fresh = msg.event.stage === 'prepare_state';
        this.update({ stages: fresh ? [msg.event] : [...this.view.stages, msg.event] });
        return;
      }
      case 'stages': {
        // A warm-pool box's stages, made before this session took it, in one message.
        const fresh = msg.events[0]?.stage === 'prepare_state';
        this.update({ stages: fresh ? msg.events : [...this.view.stages, ...msg.events] });
        return;
      }
      case 'snapshot':
        // The serialized screen of the server's mirror comes before any live byte that follows it.
        this.sink.reset();
        this.sink.write(msg.data);
        return;
      case 'exit':
        this.update({ phase: 'exited', exit: { code: msg.code, signal: msg.signal, status: msg.status } });
        return;
      case 'stats':
        this.update({ stats: msg.stats });
        return;
      case 'error':
        this.update({ message: msg.message, ...(this.view.phase === 'creating' ? { phase: 'error' as Phase } : {}) });
        return;
      case 'pong':
        this.update({ latencyMs: Math.max(0, Math.round(this.deps.now() - msg.t)) });
        return;
    }
  }

  private async onClose(code: number, opened: boolean): Promise<void> {
    this.ws = null;
    this.stopPing();
    if (this.disposed) return;
    // A socket that asked for a new session and got none (refused upgrade: full, closing, an old server): the POST
    // makes it or says why.
    if (!this.session) return this.post();
    if (code === CLOSE.replaced) {
      this.update({ phase: 'replaced', message: 'This session was opened in another tab or window.' });
      return;
    }
    const endedBy = ENDED_BY_CODE[code];
    if (endedBy !== undefined) return this.ended(endedBy);
    const bootId = this.session?.bootId;
    if (code === CLOSE.shutdown) {
      // The server destroys every box before it exits (4503): say so now, not after minutes of retries.
      this.ended(GONE.shutdown);
      return this.watchForServer(bootId, 0);
    }
    const health = opened ? null : await serverHealth(this.deps);
    if (this.disposed) return;
    if (health) {
      // The upgrade was refused (401: unknown token) while the server answers: the session and its box are gone.
      const why = !bootId || !health.bootId ? GONE.unknown : health.bootId !== bootId ? GONE.restarted : GONE.away;
      return this.ended(why);
    }
    const attempt = this.view.attempt + 1;
    const delay = backoffMs(attempt - 1, this.deps.random);
    // Stats of a box we cannot see are not live: none rather than stale numbers.
    this.update({ phase: 'reconnecting', attempt, retryAt: this.deps.now() + delay, stats: null });
    this.timer = this.deps.setTimeout(() => this.connect(), delay);
  }

  /** After a shutdown: poll health until the server answers, then tell the learner it is back (their box is not). */
  private watchForServer(bootId: string | undefined, attempt: number): void {
    this.timer = this.deps.setTimeout(
      async () => {
        this.timer = null;
        const health = await serverHealth(this.deps);
        if (this.disposed || this.view.phase !== 'ended' || this.view.message !== GONE.shutdown) return;
        if (!health) return this.watchForServer(bootId, attempt + 1);
        this.update({ message: bootId && health.bootId === bootId ? GONE.unknown : GONE.restarted });
      },
      backoffMs(attempt, this.deps.random),
    );
  }

  private ended(message: string): void {
    this.store.clear();
    this.session = null;
    this.update({ phase: 'ended', message, retryAt: null, stats: null });
  }

  private restartLike(type: 'reset' | 'restart'): boolean {
    if (!this.send({ type })) return false;
    this.sink.reset();
    this.update({ phase: 'creating', stages: [], exit: null, stats: null, message: null });
    return true;
  }

  private send(msg: ClientMessage): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== OPEN) return false;
    ws.send(JSON.stringify(msg));
    return true;
  }

  private startPing(): void {
    this.stopPing();
    const tick = () => {
      this.send({ type: 'ping', t: this.deps.now() });
      this.pingTimer = this.deps.setTimeout(tick, PING_EVERY_MS);
    };
    this.pingTimer = this.deps.setTimeout(tick, FIRST_PING_MS);
  }

  private stopPing(): void {
    if (this.pingTimer !== null) this.deps.clearTimeout(this.pingTimer);
    this.pingTimer = null;
  }

  private clearTimers(): void {
    if (this.timer !== null) this.deps.clearTimeout(this.timer);
    this.timer = null;
    this.stopPing();
  }

  private closeSocket(): void {
    const ws = this.ws;
    this.ws = null;
    this.gen++;
    if (!ws) return;
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try {
      ws.close(CLOSE.normal);
    } catch {
      /* already closed */
    }
  }

  private update(patch: Partial<ClientView>): void {
    if (this.disposed) return;
    this.view = { ...this.view, ...patch };
    // Phase changes wait for the frame too: told at once, React re-rendered the page inside the socket's message task
    // (79 ms in a Chromium trace of Start under load) and the prompt's bytes queued behind it; in the click handler it
    // held back the POST (docs/performance.md, Terminal against ttyd). getView() is always current.
    const schedule = this.deps.scheduleRender;
    if (!schedule) return this.notify();
    if (this.notifyPending) return;
    this.notifyPending = true;
    schedule(() => {
      if (this.notifyPending && !this.disposed) this.notify();
    });
  }

  private notify(): void {
    this.notifyPending = false;
    for (const fn of this.listeners) fn();
  }
}

/** Every server state has a phase of the same name. */
function phaseOf(state: SessionState): Phase {
  return state;
}
