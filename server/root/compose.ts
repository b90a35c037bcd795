// The root web server: JSON API, static front end, WebSocket sessions; SIGTERM/SIGINT close sockets (4503) and destroy every sandbox.
// The composition root (docs/architecture.md): startServer wires engine, sessions, course and web into that server.
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DEFAULTS, defaultEnv } from '../engine/config.ts';
import { fromEnv } from '../protocol/settings.ts';
import type { SandboxConfig } from '../engine/types.ts';
import { CLOSE } from '../protocol/messages.ts';
import {
  boxlabHome,
  defaultConfig,
  detectCgroupVersion,
  ensureServerImage,
  loadConfig,
  resolveImagePath,
  sessionLimits,
  type ServerConfig,
} from '../web/config.ts';
import type { FlowOptions } from '../sessions/flow.ts';
import type { InputFlowOptions } from '../sessions/input-flow.ts';
import type { ConnectionGate } from '../web/gate.ts';
import type { SandboxFactory, Session } from '../sessions/session.ts';
import { SessionManager } from '../sessions/manager.ts';
import { MemoryAdmission, type MeminfoReader } from '../sessions/admission.ts';
import { sessionApi } from '../web/api.ts';
import { listenHttp } from '../web/http.ts';
import { listenAgent, type AgentServer } from '../web/agent.ts';
import { ClusterNode, defaultNodeId, fileDrain, type DrainSwitch } from '../web/node.ts';
import { createSocketServer } from '../web/socket.ts';
import { socketRoute } from '../web/socket-route.ts';
import { createStaticHandler } from '../web/static.ts';
import { startupLines, tlsMaterial, type TlsMaterial } from '../web/tls.ts';
import { loadInstructorToken } from '../classroom/auth.ts';
import { courseApi } from '../classroom/api.ts';
import { Course, type CourseOptions } from '../classroom/course.ts';
import { sessionRefusal } from '../classroom/classes.ts';

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
  /** /proc/meminfo for admission by host memory (tests pass a fake); the ratio is config.memoryOvercommit. */
  readMeminfo?: MeminfoReader;
  /** Lessons, progress and classroom (instructor token, database path, lessons dir). */
  course?: CourseOptions;
  log?: (line: string) => void;
  /** BOXLAB_HOME (the self-signed certificate goes to <home>/tls); default boxlabHome(). */
  home?: string;
  /** Where "drained" is kept (docs/cluster.md); default the file BOXLAB_RUN/drain. */
  drain?: DrainSwitch;
}

export interface RunningServer {
  url: string;
  /** The certificate served (config.tls not 'off'), with its fingerprints. */
  tls: TlsMaterial | null;
  port: number;
  config: ServerConfig;
  manager: SessionManager;
  /** Lessons, check runner, progress and the classroom (course.auth.token is the instructor's token). */
  course: Course;
  /** Connection admission per address (counts of admitted, delayed and refused connections). */
  gate: ConnectionGate;
  /** The /ws endpoint (live sockets, and how many were slowed or closed for going over budget). */
  sockets: { size: number; overBudget: { slowed: number; closed: number; delayedAttaches: number; refusedAttaches: number } };
  /** This server as a cluster node: id, state (ready, draining, full), drain switch (docs/cluster.md). */
  node: ClusterNode;
  /** The agent-check port (config.agentPort; null when off). */
  agentPort: number | null;
  /** Closes every socket with 4503, destroys every sandbox (awaited), stops listening. Idempotent. */
  close(): Promise<void>;
}

/** The sandbox config every session boots with; rows/cols are the session's. */
export function sandboxConfigFor(cfg: ServerConfig, baseDir: string, s: Pick<Session, 'id' | 'rows' | 'cols'>): SandboxConfig {
  const hostname = `box-${s.id.slice(0, 8)}`;
  return {
    baseDir,
    memoryBytes: cfg.memoryBytes,
    cpuFraction: cfg.cpuFraction,
    pids: cfg.pids,
    shell: cfg.shell,
    args: cfg.shellArgs,
    workdir: DEFAULTS.workdir,
    hostname,
    // The engine's one box environment; xterm.js draws 24-bit colour.
    env: defaultEnv(hostname, 'xterm-256color', { COLORTERM: 'truecolor' }),
    diskBytes: cfg.diskBytes,
    shmBytes: cfg.shmBytes,
    stdio: 'pty',
    inputQueueBytes: cfg.inputQueueBytes,
    rows: s.rows,
    cols: s.cols,
  };
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
    memoryBytes: cfg.memoryBytes,
    graceSec: cfg.graceSec,
    maxSessions: cfg.maxSessions,
    maxPerClient: cfg.maxPerClient,
    cgroupVersion: opts.cgroupVersion ?? detectCgroupVersion(),
    flow: opts.flow,
    input: opts.input,
    statsIntervalMs: opts.statsIntervalMs,
    mirrorHibernateSec: cfg.mirrorHibernateSec,
    // The pool's boxes get what a session with no lesson or class gets; a session with overrides makes its own.
    // A caller bringing its own factory (tests, fakes that count their boxes) gets a pool only when it asks for one.
    pool: {
      size: opts.createSandbox && opts.config?.warmPool === undefined ? 0 : cfg.warmPool,
      config: async (id) => sandboxConfigFor(cfg, await (baseDir ??= resolveImagePath(cfg)), { id, rows: 24, cols: 80 }),
    },
    // Guards real boxes: a test's fake factory has no host memory to protect unless the test brings its own meminfo.
    admission:
      cfg.memoryOvercommit > 0 && (!opts.createSandbox || opts.readMeminfo)
        ? new MemoryAdmission({ ratio: cfg.memoryOvercommit, read: opts.readMeminfo })
        : undefined,
    log,
  });
  // Its name in a cluster; also names this node's own file of passes kept during a database outage.
  const nodeId = cfg.nodeId ?? defaultNodeId(hostname());
  const course: Course = new Course(
    {
      manager,
      limits: { memoryBytes: cfg.memoryBytes, cpuFraction: cfg.cpuFraction, pids: cfg.pids, lab: cfg.lab },
      allowedOrigins: cfg.allowedOrigins,
      cgroupVersion: manager.cgroupVersion,
      graceSec: cfg.graceSec,
      maxPerClient: cfg.maxPerClient,
      log,
    },
    {
      packDirs: cfg.lessonDirs,
      ...(cfg.instructorToken ? { instructorToken: cfg.instructorToken } : {}),
      ...(cfg.databaseUrl ? { databaseUrl: cfg.databaseUrl } : {}),
      passSpool: join(opts.home ?? boxlabHome(), `pending-passes-${nodeId}.jsonl`),
      ...opts.course,
    },
  );
  const drainFile = opts.drain ? null : join(fromEnv('runDir', process.env), 'drain');
  const node = new ClusterNode(nodeId, manager, opts.drain ?? fileDrain(drainFile!));
  // `touch`/`rm` of the drain file take effect within a second even when no balancer asks.
  const drainPoll = setInterval(() => node.refresh(), 1000);
  drainPoll.unref();
  const sockets = createSocketServer({
    manager,
    allowedOrigins: cfg.allowedOrigins,
    heartbeatMs: opts.heartbeatMs,
    log,
    fairness: cfg.fairness,
    onMessage: (s, msg, client) => course.onMessage(s, msg, client),
    onInput: (s, data) => course.onInput(s, data),
  });
  const serveStatic = createStaticHandler(cfg.staticDir);
  const watchSockets = socketRoute(course.watch);

  const tls = tlsMaterial(cfg, opts.home ?? boxlabHome());
  const front = await listenHttp({
    host: cfg.host,
    port: cfg.port,
    allowedHosts: cfg.allowedHosts,
    trustedProxies: cfg.trustedProxies,
    fairness: cfg.fairness,
    tls,
    routes: [
      sessionApi(
        manager,
        cfg.allowedOrigins,
        (created) => {
          const { ok: _ok, status, ...r } = sessionRefusal(created, manager, cfg.maxPerClient);
          return { status, body: { ...r, error: 'full', retryAfterSec: r.retryAfterSec ?? 1 } };
        },
        // A cluster node (an id or an agent port given) answers health with its state and 503 when it takes no new
        // visitors; a lone server keeps the plain 200 its clients have always read (docs/cluster.md).
        cfg.nodeId || cfg.agentPort ? node : undefined,
      ),
      (req, res, path) => courseApi(course, req, res, path),
    ],
    upgrades: [watchSockets, { handles: () => true, handleUpgrade: (req, socket, head) => sockets.handleUpgrade(req, socket, head) }],
    serveStatic,
    // A pack lesson has no prerendered page (its slug is not known at build time): it gets the generic lesson page.
    pageAlias: (path) => {
      const packSlug = /^\/lessons\/([a-z0-9][a-z0-9-]{0,63})\/?$/.exec(path)?.[1];
      return packSlug && course.lesson(packSlug)?.lesson.pack.builtin === false ? '/lesson' : undefined;
    },
    log,
  });
  const { http, listener, door, gate, hosts, port, url } = front;
  let agent: AgentServer | null = null;
  try {
    agent = cfg.agentPort ? await listenAgent(node, cfg.host, cfg.agentPort) : null;
  } catch (err) {
    clearInterval(drainPoll);
    listener.close();
    await manager.destroyAll();
    await course.close();
    throw new Error(`agent-check port ${cfg.host}:${cfg.agentPort}: ${(err as Error).message}`);
  }
  log(`node ${node.id}: ${node.state()}${agent ? `, agent-check on port ${agent.port}` : ''}`);
  // A drain outlives restarts (docs/cluster.md): say so loudly, or a server that takes no sessions looks broken.
  if (node.state() === 'draining') log(`DRAINING: no new sessions are taken${drainFile ? `; remove ${drainFile} to take them` : ''}`);
  log(`listening on ${url} (capacity ${cfg.maxSessions}, ${cfg.maxPerClient} per client)`);
  log(`answering host names: ${hosts.names().join(' ')} (others: 421; add names with BOXLAB_ALLOWED_HOSTS)`);
  for (const line of startupLines({ bound: cfg.host, port, tls, served: hosts.served() })) log(line);
  // Bound to every address: the instructor on this machine opens it by name (a browser will not open 0.0.0.0).
  const local = ['0.0.0.0', '::', '[::]', ''].includes(cfg.host) ? `${tls ? 'https' : 'http'}://localhost:${port}` : url;
  log(`classroom: ${local}/classroom#token=${course.auth.token}${cfg.instructorToken ? ' (token from BOXLAB_INSTRUCTOR_TOKEN)' : ''}`);

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      const stopped = new Promise<void>((r) => listener.close(() => r()));
      clearInterval(drainPoll);
      const agentClosed = agent?.close();
      if (door) {
        http.close();
        door.redirect.close();
        door.closeWaiting();
      }
      gate.close();
      sockets.closeAll(CLOSE.SHUTDOWN, 'server shutting down');
      await manager.destroyAll(CLOSE.SHUTDOWN, 'server shutting down');
      await course.close();
      watchSockets.close();
      await sockets.close();
      http.closeAllConnections();
      door?.redirect.closeAllConnections();
      await stopped;
      await agentClosed;
      log('stopped: every sandbox destroyed');
    })());

  return { url, tls, port, config: cfg, manager, course, gate, sockets, node, agentPort: agent?.port ?? null, close };
}

/** `node --import tsx server/root/compose.ts [--port N ...]`: serve until SIGTERM/SIGINT, then clean up and exit 0. */
export async function main(argv = process.argv.slice(2)): Promise<void> {
  const config = loadConfig(process.env, argv);
  const home = boxlabHome();
  // The instructor's token outlives restarts (the dashboard URL keeps working): BOXLAB_HOME/instructor-token.
  const instructorToken = config.instructorToken ?? loadInstructorToken(home);
  const server = await startServer({ config, home, course: { instructorToken } });
  if (!config.instructorToken) console.log(`[boxlab] the classroom token is kept in ${home}/instructor-token (delete it for a new one)`);
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
  // Drain (docs/cluster.md): no new sessions, live ones run out; only root (or the server's user) may signal it.
  // Undo with `rm $BOXLAB_RUN/drain`.
  process.on('SIGUSR2', () => {
    server.node.setDraining(true);
    console.log(`[boxlab] SIGUSR2: node ${server.node.id} draining (${server.manager.size} live sessions run out)`);
  });
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main().catch((err: Error) => {
    console.error(`[boxlab] ${err.message}`);
    process.exit(1);
  });
}
