// Read-only watch sockets: an instructor spectating a learner, or learners following the instructor's broadcast.
import { CLOSE, PROTOCOL_VERSION, TOKEN_PROTOCOL_PREFIX, parseClientMessage, type ServerMessage } from '../protocol/messages.ts';
import { WATCH_PATH } from '../protocol/lessons.ts';
import type { Session } from '../sessions/session.ts';
import type { SessionManager } from '../sessions/manager.ts';
import {
  clientAddress,
  originAllowed,
  type RouteRefusal,
  type RouteRequest,
  type RouteSocket,
  type SocketRoute,
} from '../sessions/routes.ts';
import type { InstructorAuth } from './auth.ts';

export interface WatchOptions {
  manager: SessionManager;
  allowedOrigins: readonly string[];
  auth: InstructorAuth;
  /** The session being broadcast, if any. */
  broadcast: () => Session | null;
  nameOf: (s: Session) => string;
  /** A viewer whose socket holds more than this unsent is dropped (it reconnects for a fresh snapshot). */
  maxBuffered?: number;
  log?: (line: string) => void;
}

type Grant = { ok: true; session: Session; kind: 'spectate' | 'broadcast' };

interface Viewer {
  ws: RouteSocket;
  session: Session;
  kind: 'spectate' | 'broadcast';
  tap: (item: Buffer | ServerMessage) => void;
  timer: NodeJS.Timeout;
}

/** The watch endpoint, a socket route: the web layer upgrades the connection, this hub serves the viewer. */
export class WatchHub implements SocketRoute<Grant> {
  readonly path = WATCH_PATH;
  readonly maxPayload = 4096;
  private readonly viewers = new Set<Viewer>();

  constructor(private readonly opts: WatchOptions) {}

  get size(): number {
    return this.viewers.size;
  }

  /** Who may watch what: instructors any session (or the broadcast), learners only the broadcast, checked before upgrading. */
  authorize(req: RouteRequest): Grant | RouteRefusal {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== WATCH_PATH) return { ok: false, status: 404, message: 'no WebSocket endpoint here' };
    if (!originAllowed(req.headers.origin, req.headers.host, this.opts.allowedOrigins))
      return { ok: false, status: 403, message: 'origin not allowed' };
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((s) => s.trim());
    if (!offered.includes(PROTOCOL_VERSION)) return { ok: false, status: 401, message: `subprotocol ${PROTOCOL_VERSION} required` };
    const instructor = this.opts.auth.fromProtocols(offered, clientAddress(req));
    if (instructor === 'limited') {
      const retryAfterSec = Math.max(1, this.opts.auth.logins.retryAfterSec(clientAddress(req)));
      return { ok: false, status: 429, message: `too many wrong instructor tokens: try again in ${retryAfterSec} s`, retryAfterSec };
    }
    if (instructor === 'bad') return { ok: false, status: 401, message: 'wrong instructor token' };
    const learnerTokens = offered.filter((p) => p.startsWith(TOKEN_PROTOCOL_PREFIX));
    const learner =
      learnerTokens.length === 1 ? this.opts.manager.findByToken(learnerTokens[0]!.slice(TOKEN_PROTOCOL_PREFIX.length)) : undefined;
    if (instructor !== 'ok' && !learner)
      return { ok: false, status: 401, message: 'an instructor token or a live session token is required' };
    const target = url.searchParams.get('session');
    if (target !== null) {
      if (instructor !== 'ok') return { ok: false, status: 403, message: 'only the instructor can watch another session' };
      const s = this.opts.manager.get(target);
      return s && !s.destroyed ? { ok: true, session: s, kind: 'spectate' } : { ok: false, status: 404, message: 'no such session' };
    }
    const b = this.opts.broadcast();
    return b && !b.destroyed
      ? { ok: true, session: b, kind: 'broadcast' }
      : { ok: false, status: 404, message: 'nothing is being broadcast' };
  }

  accept(ws: RouteSocket, a: Grant): void {
    void this.attach(ws, a.session, a.kind);
  }

  /** Closes the viewers of broadcasts (the instructor stopped), or every viewer. */
  closeViewers(code: number, reason: string, kind?: 'broadcast'): void {
    for (const v of [...this.viewers]) if (!kind || v.kind === kind) this.drop(v, code, reason);
  }

  close(): void {
    this.closeViewers(CLOSE.SHUTDOWN, 'server shutting down');
  }

  private async attach(ws: RouteSocket, session: Session, kind: 'spectate' | 'broadcast'): Promise<void> {
    const send = (m: ServerMessage): void => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(m));
    };
    const out = (b: Buffer): void => {
      if (ws.readyState !== ws.OPEN) return;
      if (ws.bufferedAmount > (this.opts.maxBuffered ?? 4 * 1024 * 1024)) return this.drop(viewer, 1013, 'viewer too slow');
      ws.send(b, { binary: true });
    };
    // Same exactness as a resumed attach: items delivered after the snapshot was asked for are queued until it is sent.
    let queue: (Buffer | ServerMessage)[] | null = [];
    const deliver = (item: Buffer | ServerMessage): void => (Buffer.isBuffer(item) ? out(item) : send(item));
    let size = { rows: session.rows, cols: session.cols };
    const viewer: Viewer = {
      ws,
      session,
      kind,
      tap: (item) => (queue ? queue.push(item) : deliver(item)),
      timer: setInterval(() => {
        if (session.destroyed) return this.drop(viewer, CLOSE.SESSION_GONE, 'session gone');
        if (session.rows !== size.rows || session.cols !== size.cols) {
          size = { rows: session.rows, cols: session.cols };
          send({ type: 'viewport', ...size });
        }
      }, 500),
    };
    this.viewers.add(viewer);
    session.taps.add(viewer.tap);
    ws.on('close', () => this.drop(viewer, CLOSE.NORMAL, 'closed'));
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => {
      // Read-only: keystrokes of a viewer are never written anywhere.
      if (isBinary) return send({ type: 'error', code: 'bad_message', message: 'this terminal is read-only' });
      const r = parseClientMessage(String(data));
      if (r.ok && r.msg.type === 'ping') send({ type: 'pong', t: r.msg.t });
    });
    send({
      type: 'watch',
      sessionId: session.id,
      name: this.opts.nameOf(session),
      kind,
      state: session.state === 'new' ? 'creating' : session.state,
    });
    for (const event of session.events) send({ type: 'stage', event });
    try {
      const snap = await session.mirror.snapshot();
      size = { rows: snap.rows, cols: snap.cols };
      send({ type: 'snapshot', ...snap });
    } catch {
      return this.drop(viewer, CLOSE.SESSION_GONE, 'session gone');
    }
    const queued = queue;
    queue = null;
    for (const item of queued) deliver(item);
    if (session.state === 'exited' && session.lastExit) send({ type: 'exit', ...session.lastExit });
  }

  private drop(v: Viewer, code: number, reason: string): void {
    if (!this.viewers.delete(v)) return;
    clearInterval(v.timer);
    v.session.taps.delete(v.tap);
    if (v.ws.readyState === v.ws.OPEN || v.ws.readyState === v.ws.CONNECTING) v.ws.close(code, reason);
  }
}
