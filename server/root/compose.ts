// The root web server: JSON API, static front end, WebSocket sessions; SIGTERM/SIGINT close sockets (4503) and destroy every sandbox.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import type { SandboxConfig } from '../engine/types.ts';
import {
  API_HEALTH_PATH, API_SESSION_PATH, CLOSE, WS_PATH, createSessionRequest,
  type CreateSessionResponse, type FullResponse, type HealthResponse,
} from '../protocol/messages.ts';
import { defaultConfig, detectCgroupVersion, ensureServerImage, loadConfig, resolveImagePath, sessionLimits, type ServerConfig } from '../web/config.ts';
import type { FlowOptions } from '../sessions/flow.ts';
import type { InputFlowOptions } from '../sessions/input-flow.ts';
import { ConnectionGate, endWith } from '../web/gate.ts';
import { HostAllowlist, MISDIRECTED, MISDIRECTED_BODY } from '../web/hosts.ts';
import type { SandboxFactory, Session } from '../sessions/session.ts';
import { SessionManager } from '../sessions/manager.ts';
import { createSocketServer, originAllowed } from '../web/socket.ts';
import { SECURITY_HEADERS, createStaticHandler } from '../web/static.ts';
import { courseApi } from '../classroom/api.ts';
import { Course, type CourseOptions } from '../classroom/course.ts';

export interface StartServerOptions {
  /** Overrides on top of defaultConfig() (use loadConfig() for env/flags). */
  config?: Partial<ServerConfig>;
  /** Sandbox factory; default: createSandbox from server/engine/index.ts (imported lazily). */
  createSandbox?: SandboxFactory;
  /** Cleans leftovers of a crashed run before serving; default: the engine's sweep() when the engine is used. */
  sweep?: () => Promise<unknown>;
  cgroupVersion?: 1 | 2;
  flow?: FlowOptions;
  /** Input hold/stall tuning (server/sessions/input-flow.ts); the queue's cap is config.inputQueueBytes. */
  input?: InputFlowOptions;
  statsIntervalMs?: number;
  heartbeatMs?: number;
  /** Lessons, progress and classroom (instructor token, database path, lessons dir). */
  course?: CourseOptions;
  log?: (line: string) => void;
}

export interface RunningServer {
  url: string;
  port: number;
  config: ServerConfig;
  manager: SessionManager;
  /** Lessons, check runner, progress and the classroom (course.auth.token is the instructor's token). */
  course: Course;
  /** Connection admission per address (counts of admitted, delayed and refused connections). */
  gate: ConnectionGate;
  /** The /ws endpoint (live sockets, and how many were slowed or closed for going over budget). */
  sockets: { size: number; overBudget: { slowed: number; closed: number; delayedAttaches: number; refusedAttaches: number } };
  /** Closes every socket with 4503, destroys every sandbox (awaited), stops listening. Idempotent. */
  close(): Promise<void>;
}

const MAX_BODY = 4096;

/** The sandbox config every session boots with; rows/cols are the session's. */
export function sandboxConfigFor(cfg: ServerConfig, baseDir: string, s: Session): SandboxConfig {
  const hostname = `box-${s.id.slice(0, 8)}`;
  return {
    baseDir,
    memory: cfg.memory,
    cpuLimit: cfg.cpuLimit,
    pids: cfg.pids,
    shell: cfg.shell,
    args: cfg.shellArgs,
    workdir: '/root',
    hostname,
    env: {
      TERM: 'xterm-256color',
      COLORTERM: 'truecolor',
      HOME: '/root',
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      LANG: 'C.UTF-8',
      HOSTNAME: hostname,
    },
    diskLimit: cfg.disk,
    shmLimit: cfg.shm,
    stdio: 'pty',
    inputQueueBytes: cfg.inputQueueBytes,
    rows: s.rows,
    cols: s.cols,
  };
}

function json(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store',
    'Content-Length': String(Buffer.byteLength(text)), ...extra,
  });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > MAX_BODY) return null;
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function engineFactory(): Promise<{ create: SandboxFactory; sweep?: () => Promise<unknown> }> {
  const mod = (await import(new URL('../engine/index.ts', import.meta.url).href)) as {
    createSandbox: SandboxFactory;
    sweep?: () => Promise<unknown>;
  };
  return { create: mod.createSandbox, sweep: mod.sweep };
}

export async function startServer(opts: StartServerOptions = {}): Promise<RunningServer> {
  const cfg: ServerConfig = { ...defaultConfig(), ...opts.config };
  const log = opts.log ?? ((line: string) => console.log(`[boxlab] ${line}`));
  let factory = opts.createSandbox;
  let sweep = opts.sweep;
  let baseDir: Promise<string> | null = null;
  if (!factory) {
    const engine = await engineFactory();
    factory = engine.create;
    sweep ??= engine.sweep;
    baseDir = Promise.resolve(await ensureServerImage(cfg, log)); // built once, before the first visitor waits on it
  }
  const swept = (await sweep?.()) as { sandboxes?: string[] } | undefined;
  if (swept?.sandboxes?.length) log(`swept leftovers of ${swept.sandboxes.length} sandbox(es) of a crashed run`);
  const manager = new SessionManager({
    factory,
    // A lesson may lower the limits (e.g. 64M for the OOM lesson): its settings go over the defaults.
    sandboxConfig: async (s) => ({ ...sandboxConfigFor(cfg, await (baseDir ??= resolveImagePath(cfg)), s), ...course.sandboxOverrides(s) }),
    limits: sessionLimits(cfg),
    graceSec: cfg.graceSec,
    maxSessions: cfg.maxSessions,
    maxPerClient: cfg.maxPerClient,
    cgroupVersion: opts.cgroupVersion ?? detectCgroupVersion(),
    flow: opts.flow,
    input: opts.input,
    statsIntervalMs: opts.statsIntervalMs,
    log,
  });
  const course: Course = new Course(
    { manager, limits: { memory: cfg.memory, cpuLimit: cfg.cpuLimit, pids: cfg.pids, lab: cfg.lab }, allowedOrigins: cfg.allowedOrigins, cgroupVersion: manager.cgroupVersion, log },
    { packDirs: cfg.lessonDirs, ...opts.course },
  );
  const sockets = createSocketServer({
    manager, allowedOrigins: cfg.allowedOrigins, heartbeatMs: opts.heartbeatMs, log, fairness: cfg.fairness,
    onMessage: (s, msg, client) => course.onMessage(s, msg, client),
    onInput: (s, data) => course.onInput(s, data),
  });
  const serveStatic = createStaticHandler(cfg.staticDir);

  async function api(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (path === API_HEALTH_PATH && (req.method === 'GET' || req.method === 'HEAD')) {
      const body: HealthResponse = { ok: true, sessions: manager.size, capacity: manager.capacity, cgroupVersion: manager.cgroupVersion, bootId: manager.bootId };
      return json(res, 200, body);
    }
    if (await courseApi(course, req, res, path)) return;
    if (path !== API_SESSION_PATH) return json(res, 404, { error: 'not_found' });
    if (req.method !== 'POST') return json(res, 405, { error: 'method_not_allowed' }, { Allow: 'POST' });
    // A cross-site page must not be able to spend this visitor's session quota.
    if (req.headers.origin && !originAllowed(req.headers.origin, req.headers.host, cfg.allowedOrigins)) {
      return json(res, 403, { error: 'origin_not_allowed' });
    }
    const text = await readBody(req);
    if (text === null) return json(res, 413, { error: 'body_too_large' });
    let name: string | undefined;
    if (text.trim()) {
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch {
        return json(res, 400, { error: 'bad_request', message: 'body is not JSON' });
      }
      const r = createSessionRequest.safeParse(raw);
      if (!r.success) return json(res, 400, { error: 'bad_request', message: r.error.issues[0]?.message ?? 'invalid body' });
      name = r.data.name;
    }
    const created = manager.create(req.socket.remoteAddress ?? 'unknown', name);
    if (!created.ok) {
      const body: FullResponse = { error: 'full', retryAfterSec: created.retryAfterSec };
      return json(res, 503, body, { 'Retry-After': String(created.retryAfterSec) });
    }
    const body: CreateSessionResponse = { sessionId: created.session.id, token: created.token, limits: manager.limits, wsPath: WS_PATH, bootId: manager.bootId };
    return json(res, 201, body);
  }

  // Filled in once the port is known (port 0 picks one); until then no request can arrive.
  let hosts: HostAllowlist | null = null;
  const fair = cfg.fairness;
  const http = createServer({
    // A connection that does not finish its headers (or its request) in time is closed (408): silent sockets too.
    headersTimeout: fair.headersTimeoutMs,
    requestTimeout: fair.requestTimeoutMs,
    connectionsCheckingInterval: fair.timeoutCheckMs,
  }, (req, res) => {
    if (!hosts?.allows(req.headers.host)) {
      res.writeHead(421, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' });
      return void res.end(MISDIRECTED_BODY);
    }
    const path = (req.url ?? '/').split('?')[0];
    // A pack lesson has no prerendered page (its slug is not known at build time): it gets the generic lesson page.
    const packSlug = /^\/lessons\/([a-z0-9][a-z0-9-]{0,63})\/?$/.exec(path)?.[1];
    if (packSlug && course.lesson(packSlug)?.lesson.pack.builtin === false) req.url = '/lesson';
    const p = path.startsWith('/api/') ? api(req, res, path) : serveStatic(req, res);
    p.catch((err: Error) => {
      log(`${req.method} ${path}: ${err.message}`);
      if (!res.headersSent) json(res, 500, { error: 'internal' });
      else res.destroy();
    });
  });
  const gate = new ConnectionGate(fair.connections, log);
  gate.install(http);
  http.on('upgrade', (req, socket: Duplex, head) => {
    // A refused upgrade is answered and ended; a peer that never closes its side is cut after handshakeMs.
    const guard = setTimeout(() => socket.destroy(), fair.handshakeMs);
    socket.once('close', () => clearTimeout(guard));
    socket.on('error', () => {});
    if (!hosts?.allows(req.headers.host)) endWith(socket, MISDIRECTED, fair.handshakeMs);
    else if (course.handlesUpgrade(req)) course.handleUpgrade(req, socket, head);
    else sockets.handleUpgrade(req, socket, head);
    // Upgraded (101 written synchronously by ws): the heartbeat watches it from now on.
    if (!socket.writableEnded && !socket.destroyed) clearTimeout(guard);
  });
  // A malformed request gets a precise status (as Node's default handler would send), then the connection closes.
  http.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large'
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    endWith(socket, `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(cfg.port, cfg.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  hosts = new HostAllowlist({ bound: cfg.host, port, extra: cfg.allowedHosts });
  const hostForUrl = cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host;
  const url = `http://${hostForUrl}:${port}`;
  log(`listening on ${url} (capacity ${cfg.maxSessions}, ${cfg.maxPerClient} per client)`);
  log(`answering host names: ${hosts.names().join(' ')} (others: 421; add names with BOXLAB_ALLOWED_HOSTS)`);
  log(`classroom: ${url}/classroom#token=${course.auth.token}${opts.course?.instructorToken || process.env.BOXLAB_INSTRUCTOR_TOKEN ? ' (token from config)' : ''}`);

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      const stopped = new Promise<void>((r) => http.close(() => r()));
      gate.close();
      sockets.closeAll(CLOSE.SHUTDOWN, 'server shutting down');
      await manager.destroyAll(CLOSE.SHUTDOWN, 'server shutting down');
      await course.close();
      await sockets.close();
      http.closeAllConnections();
      await stopped;
      log('stopped: every sandbox destroyed');
    })());

  return { url, port, config: cfg, manager, course, gate, sockets, close };
}

/** `node --import tsx server/root/compose.ts [--port N ...]`: serve until SIGTERM/SIGINT, then clean up and exit 0. */
export async function main(argv = process.argv.slice(2)): Promise<void> {
  const server = await startServer({ config: loadConfig(process.env, argv) });
  let signals = 0;
  const stop = (sig: NodeJS.Signals): void => {
    if (++signals > 1) {
      console.error(`[boxlab] ${sig} again: exiting without finishing cleanup`);
      process.exit(1);
    }
    console.log(`[boxlab] ${sig}: closing sessions`);
    server.close().then(
      () => process.exit(0),
      (err: Error) => {
        console.error(`[boxlab] shutdown failed: ${err.message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main().catch((err: Error) => {
    console.error(`[boxlab] ${err.message}`);
    process.exit(1);
  });
}
