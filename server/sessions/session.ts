// One playground session: its sandbox (created, reset, restarted), headless mirror, flow control and the attached client.
import type { CreateOptions, ExitInfo, SandboxConfig, SandboxHandle, StageEvent } from '../engine/types.ts';
import { CLOSE, LIMITS, type ServerMessage, type SessionLimits, type SessionState } from '../protocol/messages.ts';
import { FlowControl, PauseGate, type FlowOptions } from './flow.ts';
import { InputFlow, type InputFlowOptions } from './input-flow.ts';
import { Mirror } from './mirror.ts';
import type { PooledBox } from './pool.ts';
import type { XrayView } from '../protocol/xray.ts';
import { XrayFeed } from '../xray/feed.ts';

export type SandboxFactory = (config: SandboxConfig, opts?: CreateOptions) => Promise<SandboxHandle>;

/** What a session needs from a socket: ordered control messages, raw output, close. */
export interface SessionClient {
  send(msg: ServerMessage): void;
  output(chunk: Buffer): void;
  close(code: number, reason: string): void;
  /** Stop / restart reading keystroke frames (and everything behind them) while the sandbox drains a paste. */
  holdInput?(on: boolean): void;
}

export interface SessionDeps {
  factory: SandboxFactory;
  sandboxConfig: (s: Session) => SandboxConfig | Promise<SandboxConfig>;
  limits: SessionLimits;
  cgroupVersion: 1 | 2;
  flow?: FlowOptions;
  input?: InputFlowOptions;
  scrollback?: number;
  statsIntervalMs?: number;
  /** Seconds without output before the mirror keeps only its serialized screen (0 = never). */
  mirrorHibernateSec?: number;
  /** A warm-pool box made for this session's id; used by the first create if its config is what this session gets. */
  pooled?: PooledBox | null;
  /** Keystrokes, resizes, resets: what keeps a session from idling out. */
  onActivity?: (s: Session) => void;
  log?: (line: string) => void;
}

type Queued = Buffer | ServerMessage;
const NOOP_TARGET = { pause() {}, resume() {} };
const stageKey = (e: StageEvent): string => `${e.stage}|${e.role}|${e.t}`;

export class Session {
  state: SessionState | 'new' = 'new';
  rows = 24;
  cols = 80;
  sandbox: SandboxHandle | null = null;
  /** Stage events of the current sandbox, replayed on every attach. */
  events: StageEvent[] = [];
  lastExit: ExitInfo | null = null;
  /** Memory charged to the box's cgroup when last sampled, bytes (admission.ts: what the host already backs). */
  memoryCharged = 0;
  client: SessionClient | null = null;
  destroyed = false;
  readonly mirror: Mirror;
  readonly socketFlow: FlowControl;
  readonly mirrorFlow: FlowControl;
  readonly gate = new PauseGate(NOOP_TARGET);
  private seen = new Set<string>();
  private readonly unlisten = new Map<SandboxHandle, () => void>();
  private generation = 0;
  private attachedOnce = false;
  /** Non-null while a resumed client waits for its snapshot: what happens meanwhile is sent after it. */
  private attachQueue: Queued[] | null = null;
  private busy = false;
  private pooled: PooledBox | null;
  private readonly inflight = new Set<Promise<unknown>>();
  /** The x-ray sampler of the running sandbox, live only while the client watches a view (server/xray). */
  readonly xray = new XrayFeed((m) => this.deliver(m));
  /** Read-only observers (an instructor spectating, learners following a broadcast): every item the client gets, in order. */
  readonly taps = new Set<(item: Buffer | ServerMessage) => void>();
  private statsTimer: NodeJS.Timeout | null = null;
  private statsPending = false;
  private resyncTimer: NodeJS.Timeout | null = null;
  /** Keystrokes → the sandbox's bounded queue; socket hold while it drains, refusal notices when it does not read. */
  readonly inputFlow: InputFlow;

  constructor(
    readonly id: string,
    private readonly deps: SessionDeps,
  ) {
    this.inputFlow = new InputFlow(
      {
        hold: (on) => {
          this.client?.holdInput?.(on);
          // Acks travel on the held socket: output is not paused for them during a hold (a box that writes what it
          // reads, like `tee`, would wait for acks queued behind its own input), and what was counted is forgotten.
          this.socketFlow.reset();
        },
        notice: (text, code) => {
          // In the terminal itself (mirror and socket alike, so a reconnect shows it too), and as a control message.
          this.onOutput(Buffer.from(`\r\n\x1b[1;33m[boxlab] ${text}\x1b[0m\r\n`));
          this.deliver({ type: 'error', code, message: text });
        },
        log: (line) => this.deps.log?.(`session ${this.id}: ${line}`),
      },
      deps.input,
    );
    this.socketFlow = new FlowControl((p) => this.onSocketFlow(p), deps.flow);
    this.mirrorFlow = new FlowControl((p) => this.gate.set('mirror', p), { ...deps.flow, resyncMs: 0 });
    this.mirror = new Mirror({
      rows: this.rows,
      cols: this.cols,
      scrollback: deps.scrollback,
      flow: this.mirrorFlow,
      hibernateMs: (deps.mirrorHibernateSec ?? 0) * 1000,
    });
    this.pooled = deps.pooled ?? null;
  }

  /** Attaches a client (replacing any other); creates the sandbox on the first attach so stages stream live. */
  async attach(client: SessionClient): Promise<void> {
    if (this.destroyed) return client.close(CLOSE.SESSION_GONE, 'session gone');
    const old = this.client;
    this.client = client;
    if (old) old.close(CLOSE.REPLACED, 'replaced');
    this.socketFlow.reset();
    this.inputFlow.attached();
    this.xray.watch([]); // a new socket subscribes anew (and then gets a full x-ray)
    const resumed = this.attachedOnce;
    this.attachedOnce = true;
    const state = this.state === 'new' ? 'creating' : this.state;
    client.send({ type: 'hello', sessionId: this.id, state, limits: this.deps.limits, resumed, cgroupVersion: this.deps.cgroupVersion });
    for (const event of this.events) client.send({ type: 'stage', event });
    if (resumed) {
      this.attachQueue = [];
      let snap: Awaited<ReturnType<Mirror['snapshot']>>;
      try {
        snap = await this.mirror.snapshot();
      } catch {
        return; // destroyed meanwhile; destroy() closed the client
      }
      if (this.client !== client) return; // replaced while waiting; the newer attach owns the queue
      const queued = this.attachQueue;
      this.attachQueue = null;
      client.send({ type: 'snapshot', ...snap });
      if (this.state === 'exited' && this.lastExit) client.send({ type: 'exit', ...this.lastExit });
      for (const q of queued) this.toClient(q);
    }
    this.startStats();
    if (this.state === 'new') this.track(this.create());
  }

  /** The client's socket closed. Returns true if it was the current client. */
  detach(client: SessionClient): boolean {
    if (this.client !== client) return false;
    this.client = null;
    this.attachQueue = null;
    this.socketFlow.reset();
    this.stopStats();
    this.xray.watch([]);
    return true;
  }

  /** The client's x-ray subscription ([] = none). */
  watchXray(views: readonly XrayView[]): void {
    this.xray.watch(views);
  }

  input(data: Buffer): void {
    this.deps.onActivity?.(this);
    if (this.state === 'running') this.inputFlow.input(data);
  }

  resize(rows: number, cols: number): void {
    this.deps.onActivity?.(this);
    this.rows = rows;
    this.cols = cols;
    this.mirror.resize(rows, cols);
    this.sandbox?.resize(rows, cols);
  }

  ack(bytes: number): void {
    this.socketFlow.ack(bytes);
  }

  /** Samples the box's charged memory (0 without a box). */
  async sampleMemory(): Promise<number> {
    const sb = this.sandbox;
    if (!sb) return (this.memoryCharged = 0);
    const stats = await sb.stats();
    if (this.sandbox === sb) this.memoryCharged = stats.memory.current;
    return this.memoryCharged;
  }

  /** Destroys the current sandbox and boots a fresh one in its place. */
  async reset(): Promise<void> {
    if (this.busy || this.state === 'creating' || this.state === 'new') return this.refuse('a sandbox is being created');
    return this.recreate();
  }

  /** After the shell exited (or creation failed): boot again. */
  async restart(): Promise<void> {
    if (this.busy || (this.state !== 'exited' && this.state !== 'error')) return this.refuse(`cannot restart while ${this.state}`);
    return this.recreate();
  }

  /** Closes the client with code/reason (if any), destroys the sandbox and waits until everything is released. */
  async destroy(code: number = CLOSE.SESSION_GONE, reason = 'session gone', notice?: ServerMessage): Promise<void> {
    if (!this.destroyed) {
      this.destroyed = true;
      this.generation++;
      this.stopStats();
      this.xray.setSource(null);
      this.clearResync();
      this.inputFlow.dispose();
      this.discardPooled();
      const client = this.client;
      this.client = null;
      if (client) {
        if (notice) client.send(notice);
        client.close(code, reason);
      }
      this.track(this.release());
    }
    while (this.inflight.size) await Promise.allSettled([...this.inflight]);
    this.mirror.dispose();
  }

  private async recreate(): Promise<void> {
    this.busy = true;
    try {
      this.deps.onActivity?.(this);
      this.generation++;
      await this.release();
      if (this.destroyed) return;
      this.onOutput(Buffer.from('\x1bc')); // RIS: clears the client's screen and the mirror alike
      await this.create();
    } finally {
      this.busy = false;
    }
  }

  private async create(): Promise<void> {
    const gen = ++this.generation;
    this.events = [];
    this.seen = new Set();
    this.lastExit = null;
    // The first create: hello (and any watcher's first message) already said `creating`; a second word of it cost the
    // page a terminal reset and a render before the next message (Chromium, click to prompt).
    if (this.state === 'new') this.state = 'creating';
    else this.setState('creating');
    const onStage = (e: StageEvent): void => {
      if (gen === this.generation) this.onStage(e);
    };
    let sb: SandboxHandle;
    let early: Buffer[] = [];
    let earlyExit: ExitInfo | null = null;
    let earlyStages: StageEvent[] = [];
    try {
      const config = await this.deps.sandboxConfig(this);
      const pooled = this.takePooled(config);
      if (pooled) {
        sb = pooled.sandbox;
        early = pooled.output;
        pooled.detach(); // this tick, before our listeners below: no output between them
        earlyExit = pooled.exit;
        earlyStages = pooled.events;
      } else sb = await this.deps.factory({ ...config, rows: this.rows, cols: this.cols }, { onStage });
    } catch (err) {
      if (gen !== this.generation) return;
      this.deps.log?.(`session ${this.id}: create failed: ${(err as Error).message}`);
      this.setState('error');
      this.deliver({ type: 'error', code: 'create_failed', message: (err as Error).message });
      return;
    }
    if (gen !== this.generation) return void (await sb.destroy());
    this.sandbox = sb;
    this.xray.setSource(sb);
    const onData = (b: Buffer): void => void (gen === this.generation && this.onOutput(b));
    const onExit = (e: ExitInfo): void => void (gen === this.generation && this.onExit(sb, e));
    const onDrain = (): void => this.inputFlow.drained(sb);
    sb.on('stage', onStage).on('data', onData).on('exit', onExit).on('drain', onDrain);
    this.unlisten.set(sb, () => sb.off('stage', onStage).off('data', onData).off('exit', onExit).off('drain', onDrain));
    this.inputFlow.setSandbox(sb);
    this.gate.retarget(sb);
    if (sb.config.rows !== this.rows || sb.config.cols !== this.cols) sb.resize(this.rows, this.cols);
    // A pooled box's stages, before `running` as a box made now would send them, in one message to the client.
    this.onStages(earlyStages);
    this.setState('running');
    for (const b of early) onData(b); // a pooled box's prompt, printed before this session took it
    if (earlyExit) onExit(earlyExit); // its shell ended between the POST and this attach
    this.startStats();
  }

  /** The pooled box if its config is exactly this session's (rows and cols aside: resized on handover), else null. */
  private takePooled(config: SandboxConfig): PooledBox | null {
    const p = this.pooled;
    if (!p) return null;
    this.pooled = null;
    const strip = ({ rows: _r, cols: _c, ...rest }: SandboxConfig) => JSON.stringify(rest);
    if (strip(p.config) === strip(config)) return p;
    this.deps.log?.(`session ${this.id}: pooled box not used (settings differ)`);
    p.detach();
    this.track(p.sandbox.destroy());
    return null;
  }

  private discardPooled(): void {
    const p = this.pooled;
    this.pooled = null;
    if (!p) return;
    p.detach();
    this.track(p.sandbox.destroy());
  }

  /** Destroys the current sandbox (awaited); its listeners stay until then so the teardown stages still show. */
  private async release(): Promise<void> {
    const sb = this.sandbox;
    this.sandbox = null;
    this.memoryCharged = 0;
    this.xray.setSource(null);
    this.inputFlow.setSandbox(null);
    this.gate.retarget(NOOP_TARGET);
    this.stopStats();
    if (!sb) return;
    try {
      await sb.destroy();
    } catch (err) {
      this.deps.log?.(`session ${this.id}: destroy failed: ${(err as Error).message}`);
    } finally {
      this.unlisten.get(sb)?.();
      this.unlisten.delete(sb);
    }
  }

  private onStage(e: StageEvent): void {
    const key = stageKey(e);
    if (this.seen.has(key)) return; // onStage and the handle's 'stage' event may both report it
    this.seen.add(key);
    this.events.push(e);
    this.deliver({ type: 'stage', event: e });
  }

  /**
   * Stage events that happened before this session watched (a warm-pool box's): one `stages` message to the client,
   * each as a `stage` to the taps (their protocol has no `stages`). In Chromium each WebSocket message is a task of its
   * own; ~25 `stage` messages queued ahead of the prompt's bytes held the prompt back 5-60 ms under load.
   */
  private onStages(list: readonly StageEvent[]): void {
    const fresh = list.filter((e) => {
      const key = stageKey(e);
      if (this.seen.has(key)) return false;
      this.seen.add(key);
      this.events.push(e);
      return true;
    });
    if (fresh.length === 0) return;
    for (const event of fresh) for (const tap of this.taps) tap({ type: 'stage', event });
    for (let i = 0; i < fresh.length; i += 256) this.toClientInOrder({ type: 'stages', events: fresh.slice(i, i + 256) });
  }

  private onOutput(b: Buffer): void {
    this.mirror.write(b);
    this.deliver(b);
  }

  private onExit(sb: SandboxHandle, e: ExitInfo): void {
    this.lastExit = e;
    this.deliver({ type: 'exit', code: e.code, signal: e.signal, status: e.status });
    this.setState('exited');
    if (this.sandbox === sb) this.track(this.release());
  }

  private setState(s: SessionState): void {
    this.state = s;
    this.deliver({ type: 'state', state: s });
  }

  private refuse(message: string): void {
    this.deliver({ type: 'error', code: 'bad_state', message });
  }

  /** In order with output; held back while a resumed client waits for its snapshot. */
  private deliver(item: Queued): void {
    for (const tap of this.taps) tap(item);
    this.toClientInOrder(item);
  }

  /** To the client alone: held back (with everything after it) while a resumed client waits for its snapshot. */
  private toClientInOrder(item: Queued): void {
    if (!this.client) return;
    if (this.attachQueue) this.attachQueue.push(item);
    else this.toClient(item);
  }

  private toClient(item: Queued): void {
    if (!this.client) return;
    if (Buffer.isBuffer(item)) {
      this.client.output(item);
      this.socketFlow.sent(item.length);
    } else this.client.send(item);
  }

  private onSocketFlow(paused: boolean): void {
    this.gate.set('socket', paused && !this.inputFlow.isHeld);
    if (paused) this.armResync();
    else this.clearResync();
  }

  private armResync(): void {
    this.clearResync();
    const due = this.socketFlow.check();
    if (due !== null) this.resyncTimer = setTimeout(() => this.armResync(), Math.ceil(due));
  }

  private clearResync(): void {
    if (this.resyncTimer) clearTimeout(this.resyncTimer);
    this.resyncTimer = null;
  }

  private startStats(): void {
    if (this.statsTimer || !this.client || this.state !== 'running') return;
    this.statsTimer = setInterval(() => {
      const sb = this.sandbox;
      if (!sb || this.statsPending) return;
      this.statsPending = true;
      sb.stats()
        .then((stats) => {
          if (this.sandbox !== sb) return;
          this.memoryCharged = stats.memory.current;
          this.deliver({ type: 'stats', stats });
        })
        .catch(() => {})
        .finally(() => (this.statsPending = false));
    }, this.deps.statsIntervalMs ?? LIMITS.statsIntervalMs);
  }

  private stopStats(): void {
    if (this.statsTimer) clearInterval(this.statsTimer);
    this.statsTimer = null;
  }

  private track(p: Promise<unknown>): void {
    this.inflight.add(p);
    p.catch((err) => this.deps.log?.(`session ${this.id}: ${(err as Error).message}`)).finally(() => this.inflight.delete(p));
  }
}
