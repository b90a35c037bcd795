// WebSocket endpoint: origin + token checks at upgrade (403/401 before any socket exists), then frames ↔ session.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  CLOSE,
  FLOW,
  LIMITS,
  NEW_SESSION_PROTOCOL,
  PROTOCOL_VERSION,
  TOKEN_PROTOCOL_PREFIX,
  WS_PATH,
  parseClientMessage,
  type CreateSessionResponse,
  type ClientMessage,
  type ServerMessage,
} from '../protocol/messages.ts';
import { addressKey, BudgetBook, MessageBudget, Pacer, TokenBucket } from '../sessions/budget.ts';
import { FAIRNESS, type FairnessLimits } from './config.ts';
import { FrameCoalescer, PauseGate } from '../sessions/flow.ts';
import { endWith } from './gate.ts';
import { clientAddress, originAllowed } from '../sessions/routes.ts';
import type { Session, SessionClient } from '../sessions/session.ts';
import type { SessionManager } from '../sessions/manager.ts';

/** What an ack of at least FLOW.ackEvery bytes costs in the message budget (others cost 1). */
export const ACK_COST = 0.1;

export type AuthResult =
  | { ok: true; session: Session; create?: undefined }
  /** NEW_SESSION_PROTOCOL and no token: the upgrade asks for a new session (admitted like POST /api/session). */
  | { ok: true; create: true; session?: undefined }
  | { ok: false; status: 401 | 403 | 404; message: string };

export function authorizeUpgrade(req: IncomingMessage, manager: SessionManager, allowedOrigins: readonly string[]): AuthResult {
  const path = (req.url ?? '').split('?')[0];
  if (path !== WS_PATH) return { ok: false, status: 404, message: 'no WebSocket endpoint here' };
  if (!originAllowed(req.headers.origin, req.headers.host, allowedOrigins))
    return { ok: false, status: 403, message: 'origin not allowed' };
  const offered = String(req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((s) => s.trim());
  if (!offered.includes(PROTOCOL_VERSION)) return { ok: false, status: 401, message: `subprotocol ${PROTOCOL_VERSION} required` };
  const tokens = offered.filter((p) => p.startsWith(TOKEN_PROTOCOL_PREFIX));
  if (tokens.length === 0 && offered.includes(NEW_SESSION_PROTOCOL)) return { ok: true, create: true };
  const session = tokens.length === 1 ? manager.findByToken(tokens[0]!.slice(TOKEN_PROTOCOL_PREFIX.length)) : undefined;
  if (!session || session.destroyed) return { ok: false, status: 401, message: 'unknown or expired session token' };
  return { ok: true, session };
}

const STATUS_TEXT = {
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
  503: 'Service Unavailable',
} as const;
function refuse(socket: Duplex, status: keyof typeof STATUS_TEXT, message: string): void {
  const body = `${message}\n`;
  endWith(
    socket,
    `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** Adapts a ws socket to a SessionClient: output batched into frames (FrameCoalescer), control messages in order with it. */
class WsClient implements SessionClient {
  private readonly frames: FrameCoalescer;
  badMessages = 0;
  /** The socket is read only while nobody holds it (holders: 'budget' while a client is slowed; others may join). */
  readonly reading: PauseGate;
  constructor(readonly ws: WebSocket) {
    this.reading = new PauseGate({ pause: () => ws.pause(), resume: () => ws.resume() });
    this.frames = new FrameCoalescer((data) => {
      if (this.ws.readyState !== this.ws.OPEN) return;
      // A peer that never reads (but answers pings) is resumed by every flow resync and its queue here would grow
      // without end; no acking client ever owes 4× the high watermark: drop it (RFC 6455 1008, policy violation).
      if (this.ws.bufferedAmount > 4 * FLOW.highWater) return void this.ws.close(1008, 'not reading');
      this.ws.send(data, { binary: true });
    });
    ws.once('close', () => this.frames.dispose());
  }

  output(chunk: Buffer): void {
    this.frames.push(chunk);
  }
  send(msg: ServerMessage): void {
    this.frames.flush();
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(msg));
  }
  close(code: number, reason: string): void {
    this.frames.flush();
    // A held socket could not read the peer's close frame: closing ends every hold (input and budget alike).
    this.reading.set('input', false);
    if (this.ws.isPaused) this.ws.resume();
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(code, reason);
  }
  /** Through the read gate (holder 'input'): the socket is not read, so a paste waits in the peer's buffers (TCP
   * back-pressure); a budget hold ('budget') may keep it paused after the input hold ends. */
  holdInput(on: boolean): void {
    this.reading.set('input', on && this.ws.readyState === this.ws.OPEN);
  }
}

export interface SocketServerOptions {
  manager: SessionManager;
  allowedOrigins: readonly string[];
  /** Dead-peer detection: ws ping at this interval, terminate if the previous one got no pong. */
  heartbeatMs?: number;
  /** Control messages of other features (lessons: server/classroom), and keystrokes seen (checks re-run after Enter). */
  onMessage?: (session: Session, msg: ClientMessage, client: SessionClient) => void;
  onInput?: (session: Session, data: Buffer) => void;
  /** Message and byte budgets (per session, per address) and the slow-then-close policy; default FAIRNESS. */
  fairness?: Pick<FairnessLimits, 'session' | 'address' | 'closeAfterMs' | 'maxDebtMs' | 'attach' | 'attachMaxDelayMs'>;
  log?: (line: string) => void;
}

export function createSocketServer(opts: SocketServerOptions) {
  const { manager } = opts;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: LIMITS.maxPayload,
    perMessageDeflate: false,
    clientTracking: false,
    // The ws library would close invalid UTF-8 with 1007; the protocol answers it with bad_message instead.
    skipUTF8Validation: true,
    // One message per event-loop turn: a 64 KiB read of 9,000 one-byte frames would otherwise be handled in one
    // synchronous run while every other socket waits (measured: others' echo p99 340 ms at 10,000 messages/s).
    allowSynchronousEvents: false,
    handleProtocols: () => PROTOCOL_VERSION,
  });
  const fair = opts.fairness ?? FAIRNESS;
  // Per session (kept across reconnects, so reconnecting does not refill it) and per address (all its sockets).
  const sessionBudgets = new WeakMap<Session, MessageBudget>();
  const addressBudgets = new BudgetBook(() => new MessageBudget(fair.address));
  const overBudget = { slowed: 0, closed: 0, delayedAttaches: 0, refusedAttaches: 0 };
  const attachBudgets = new WeakMap<Session, TokenBucket>();
  const live = new Map<WebSocket, { client: WsClient; alive: boolean }>();
  const heartbeat = setInterval(() => {
    for (const [ws, s] of live) {
      if (!s.alive) ws.terminate();
      else {
        s.alive = false;
        ws.ping();
      }
    }
  }, opts.heartbeatMs ?? 30_000);
  heartbeat.unref();

  function onConnection(ws: WebSocket, session: Session, addr: string, created?: CreateSessionResponse): void {
    const client = new WsClient(ws);
    if (created) client.send({ type: 'created', ...created }); // before hello: the page keeps it for reconnects
    const state = { client, alive: true };
    live.set(ws, state);
    let budget = sessionBudgets.get(session);
    if (!budget) sessionBudgets.set(session, (budget = new MessageBudget(fair.session)));
    const pacer = new Pacer(
      [
        { name: 'session', budget },
        { name: 'address', budget: addressBudgets.acquire(addr) },
      ],
      fair,
    );
    let resumeTimer: NodeJS.Timeout | null = null;
    let slowed = false;
    /** Slow, then close: false when the frame must be dropped because the socket is being closed. */
    const spend = (bytes: number, cost = 1): boolean => {
      if (ws.readyState !== ws.OPEN) return false;
      const v = pacer.charge(bytes, cost);
      if (v.action === 'ok') return true;
      if (v.action === 'close') {
        overBudget.closed++;
        opts.log?.(`session ${session.id}: closed, ${v.why} (from ${addr})`);
        client.close(CLOSE.POLICY, 'over budget');
        // It is not read while slowed and may never answer the close frame: do not wait the ws library's 30 s.
        setTimeout(() => ws.terminate(), 1000).unref();
        return false;
      }
      // Slowed: its socket is not read until the debt is paid (what it sends meanwhile waits in its own buffers).
      if (!slowed) overBudget.slowed++;
      slowed = true;
      client.reading.set('budget', true);
      if (resumeTimer) clearTimeout(resumeTimer);
      resumeTimer = setTimeout(() => {
        resumeTimer = null;
        slowed = false;
        client.reading.set('budget', false);
      }, Math.ceil(v.ms));
      return true;
    };
    const decoder = new TextDecoder('utf-8', { fatal: true });
    const bad = (message: string): void => {
      client.send({ type: 'error', code: 'bad_message', message });
      if (++client.badMessages >= LIMITS.maxBadMessages) client.close(CLOSE.BAD_MESSAGES, 'too many bad messages');
    };
    ws.on('pong', (data) => {
      state.alive = true;
      spend(data.length);
    });
    ws.on('ping', (data) => spend(data.length)); // the ws library answers each with a pong
    ws.on('error', (err) => opts.log?.(`session ${session.id}: socket error: ${err.message}`));
    ws.on('close', () => {
      if (resumeTimer) clearTimeout(resumeTimer);
      addressBudgets.release(addr);
      live.delete(ws);
      manager.detach(session, client);
    });
    ws.on('message', (data, isBinary) => {
      if (session.client !== client) return; // replaced: its frames no longer count
      const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      if (isBinary) {
        if (!spend(buf.length)) return;
        if (buf.length > LIMITS.maxInputFrame) return bad(`keystroke frame of ${buf.length} bytes exceeds ${LIMITS.maxInputFrame}`);
        session.input(buf);
        return opts.onInput?.(session, buf);
      }
      let text: string;
      try {
        text = decoder.decode(buf);
      } catch {
        return bad('text frame is not valid UTF-8');
      }
      const r = parseClientMessage(text);
      // A whole ack (the client acks every 32 KiB it parsed) costs a tenth: fast output must not be held by its acks.
      if (!spend(buf.length, r.ok && r.msg.type === 'ack' && r.msg.bytes >= FLOW.ackEvery ? ACK_COST : 1)) return;
      if (!r.ok) return bad(r.error);
      const msg = r.msg;
      switch (msg.type) {
        case 'resize':
          return session.resize(msg.rows, msg.cols);
        case 'ack':
          return session.ack(msg.bytes);
        case 'ping':
          return client.send({ type: 'pong', t: msg.t });
        case 'reset':
          return void session.reset();
        case 'restart':
          return void session.restart();
        case 'xray':
          return session.watchXray(msg.views);
        default:
          return opts.onMessage?.(session, msg, client);
      }
    });
    void manager.attach(session, client).catch((err) => {
      opts.log?.(`session ${session.id}: attach failed: ${(err as Error).message}`);
      client.close(1011, 'internal error');
    });
  }

  /**
   * A socket that asks for its session (NEW_SESSION_PROTOCOL): the admission of POST /api/session (memory sampled, the
   * same caps), then the upgrade; refused with 503 and no body the page reads: it asks the POST, which explains.
   */
  async function createOnUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, addr: string): Promise<void> {
    await manager.refreshCharged();
    if (socket.destroyed) return;
    const created = manager.create(clientAddress(req) ?? 'unknown'); // the POST's address (a trusted balancer's client)
    if (!created.ok) return refuse(socket, 503, `no new session here now (${created.reason}); POST /api/session says why`);
    const session = created.session;
    const attaches = new TokenBucket(fair.attach);
    attaches.take(1);
    attachBudgets.set(session, attaches);
    const answer: CreateSessionResponse = {
      sessionId: session.id,
      token: created.token,
      limits: manager.limits,
      wsPath: WS_PATH,
      bootId: manager.bootId,
    };
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, session, addr, answer));
  }

  return {
    handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
      const auth = authorizeUpgrade(req, manager, opts.allowedOrigins);
      if (!auth.ok) return refuse(socket, auth.status, auth.message);
      const addr = addressKey(clientAddress(req));
      if (auth.create) {
        void createOnUpgrade(req, socket, head, addr).catch((err) => {
          opts.log?.(`new session on upgrade failed: ${(err as Error).message}`);
          refuse(socket, 503, 'internal error');
        });
        return;
      }
      // Every attach costs a snapshot of the session's screen: a client reconnecting in a loop is slowed, then refused.
      let attaches = attachBudgets.get(auth.session);
      if (!attaches) attachBudgets.set(auth.session, (attaches = new TokenBucket(fair.attach)));
      const wait = attaches.waitFor(1);
      if (wait > fair.attachMaxDelayMs) {
        overBudget.refusedAttaches++;
        return refuse(socket, 429, 'too many reconnects for this session; retry in a few seconds');
      }
      attaches.take(1);
      const go = (): void => wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, auth.session, addr));
      if (wait === 0) return go();
      overBudget.delayedAttaches++;
      setTimeout(() => (socket.destroyed ? undefined : go()), Math.ceil(wait));
    },
    /** Sockets slowed and closed for going over budget since start. */
    get overBudget(): { slowed: number; closed: number; delayedAttaches: number; refusedAttaches: number } {
      return { ...overBudget };
    },
    /** Every open socket closed with code (sessions survive; the caller decides their fate). */
    closeAll(code: number, reason: string): void {
      for (const { client } of live.values()) client.close(code, reason);
    },
    get size(): number {
      return live.size;
    },
    /** Waits up to waitMs for closing handshakes to finish, then cuts whatever is left. */
    async close(waitMs = 1000): Promise<void> {
      clearInterval(heartbeat);
      const until = Date.now() + waitMs;
      while (live.size && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      for (const ws of live.keys()) ws.terminate();
      live.clear();
      wss.close();
    },
  };
}
