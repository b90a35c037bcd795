// load-server.ts: starts bench/lib/load-server-child.ts (the real server) as a separate process on loopback, reads its
// JSON-line events, and measures it from outside (/proc RSS, fds, CPU) so the figures exclude the load generator.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { SERVER_NODE_FLAGS } from '../../server/cli/node-flags.ts';
import type { SweepReport } from '../../server/engine/sweep.ts';
import type { ServerConfig } from '../../server/web/config.ts';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'load-server-child.ts');
const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux x86-64/arm64

export interface LoadServerOptions {
  config?: Partial<ServerConfig>;
  heartbeatMs?: number;
  /** Milliseconds to wait for "listening" (image build + sweep + listen). */
  readyTimeoutMs?: number;
  /** Extra node flags for the server process (e.g. --cpu-prof for a diagnosis). */
  nodeArgs?: string[];
  /** V8 flags of the server process; default what `npm start` runs (SERVER_NODE_FLAGS), or $BOXLAB_BENCH_V8_FLAGS. */
  v8Flags?: readonly string[];
}

export interface ProcSample {
  rssKiB: number;
  hwmKiB: number;
  fds: number;
  threads: number;
  /** user + system CPU time in ms. */
  cpuMs: number;
}

export interface HeapSample {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  sessions: number;
}

export interface LoopDelay {
  p50: number;
  p99: number;
  max: number;
  count: number;
}

export class LoadServer {
  url = '';
  pid = 0;
  /** Time from spawn to "listening" as the driver saw it, and the child's own view of it. */
  readyMs = 0;
  startMs = 0;
  swept: { ms: number; report: SweepReport } | null = null;
  readonly logs: string[] = [];
  exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private memWaiters: ((m: HeapSample) => void)[] = [];
  private loopWaiters: ((m: LoopDelay) => void)[] = [];
  /** Every sandbox this server made or tried to make: id → uid range base (for leftover checks). */
  readonly boxes = new Map<string, number | null>();
  failedBoxes = 0;
  readonly exited: Promise<void>;
  private constructor(readonly child: ChildProcess) {
    this.exited = new Promise((r) => child.once('exit', (code, signal) => ((this.exitInfo = { code, signal }), r())));
  }

  static async start(opts: LoadServerOptions = {}): Promise<LoadServer> {
    const t0 = performance.now();
    const env: NodeJS.ProcessEnv = { ...process.env, BOXLAB_LOAD_CONFIG: JSON.stringify({ port: 0, host: '127.0.0.1', ...opts.config }) };
    if (opts.heartbeatMs) env.BOXLAB_LOAD_HEARTBEAT_MS = String(opts.heartbeatMs);
    // BOXLAB_BENCH_SERVER_ARGS: extra node flags for every bench server (a diagnosis: bench/lib/stall-watch.ts, --cpu-prof).
    const extra = (process.env.BOXLAB_BENCH_SERVER_ARGS ?? '').split(' ').filter(Boolean);
    const v8 = opts.v8Flags ?? benchV8Flags();
    const child = spawn(process.execPath, ['--expose-gc', ...v8, ...extra, ...(opts.nodeArgs ?? []), '--import', 'tsx', CHILD], {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const s = new LoadServer(child);
    const keep = (line: string) => {
      s.logs.push(line);
      if (s.logs.length > 2000) s.logs.splice(0, 1000);
    };
    child.stderr!.setEncoding('utf8').on('data', (d: string) => keep(`stderr: ${d.trimEnd()}`));
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`server not ready after ${opts.readyTimeoutMs ?? 60_000} ms: ${s.logs.slice(-5).join(' | ')}`)),
        opts.readyTimeoutMs ?? 60_000,
      );
      child.once('exit', (code, sig) => {
        clearTimeout(timer);
        reject(new Error(`server exited (${code ?? sig}) before listening: ${s.logs.slice(-5).join(' | ')}`));
      });
      createInterface({ input: child.stdout! }).on('line', (line) => {
        let ev: { ev?: string; [k: string]: unknown };
        try {
          ev = JSON.parse(line);
        } catch {
          return keep(line);
        }
        if (ev.ev === 'log') keep(String(ev.line));
        else if (ev.ev === 'loop') s.loopWaiters.splice(0).forEach((w) => w(ev as unknown as LoopDelay));
        else if (ev.ev === 'box') {
          s.boxes.set(ev.id as string, (ev.uidBase as number | null) ?? null);
          if (ev.failed) s.failedBoxes++;
        } else if (ev.ev === 'mem') s.memWaiters.splice(0).forEach((w) => w(ev as unknown as HeapSample));
        else if (ev.ev === 'swept') s.swept = { ms: ev.ms as number, report: ev.report as SweepReport };
        else if (ev.ev === 'listening') {
          s.url = ev.url as string;
          s.pid = ev.pid as number;
          s.startMs = ev.startMs as number;
          s.readyMs = performance.now() - t0;
          clearTimeout(timer);
          resolve();
        } else keep(line);
      });
    });
    try {
      await ready;
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    }
    return s;
  }

  get alive(): boolean {
    return this.exitInfo === null;
  }

  sample(): ProcSample {
    return procSample(this.pid);
  }

  /** The server's memory after a full GC (process.memoryUsage(), bytes), asked over its stdin. */
  heap(timeoutMs = 10_000): Promise<HeapSample> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer to "mem"')), timeoutMs);
      this.memWaiters.push((m) => (clearTimeout(timer), resolve(m)));
      this.child.stdin!.write('mem\n');
    });
  }

  /** The server's event-loop delay (ms) since the previous call (the first call: since start). */
  loopDelay(timeoutMs = 10_000): Promise<LoopDelay> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer to "loop"')), timeoutMs);
      this.loopWaiters.push((m) => (clearTimeout(timer), resolve(m)));
      this.child.stdin!.write('loop\n');
    });
  }

  /** kill -9: no cleanup at all (what a crash or the OOM killer does). */
  async kill9(): Promise<void> {
    if (!this.alive) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM: the server closes sockets (4503) and destroys every sandbox; SIGKILL after timeoutMs. */
  async stop(timeoutMs = 60_000): Promise<{ clean: boolean; ms: number }> {
    const t0 = performance.now();
    if (!this.alive) return { clean: this.exitInfo?.code === 0, ms: 0 };
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
    return { clean: this.exitInfo?.code === 0, ms: performance.now() - t0 };
  }
}

/** The server's V8 flags in a bench: `npm start`'s, or $BOXLAB_BENCH_V8_FLAGS (set, even empty: e.g. a before/after run). */
export function benchV8Flags(): readonly string[] {
  const env = process.env.BOXLAB_BENCH_V8_FLAGS;
  return env === undefined ? SERVER_NODE_FLAGS : env.split(' ').filter(Boolean);
}

/** RSS, peak RSS, open fds, threads and CPU time of any process, read from /proc. */
export function procSample(pid: number): ProcSample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const kib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return {
    rssKiB: kib('VmRSS'),
    hwmKiB: kib('VmHWM'),
    fds: readdirSync(`/proc/${pid}/fd`).length,
    threads: kib('Threads'),
    cpuMs: ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK,
  };
}

/** Samples a process every intervalMs until stop() (a bounded background sampler for RSS/CPU curves). */
export function sampler(pid: number, intervalMs = 500): { samples: (ProcSample & { t: number })[]; stop(): void } {
  const samples: (ProcSample & { t: number })[] = [];
  const t0 = performance.now();
  const take = () => {
    try {
      samples.push({ t: performance.now() - t0, ...procSample(pid) });
    } catch {
      // The process is gone (a crash test): keep what we have.
    }
  };
  take();
  const timer = setInterval(take, intervalMs);
  return { samples, stop: () => (clearInterval(timer), take()) };
}

/**
 * Runs a bench actor script (attackers, hostile clients) in its own Node process, so its floods never share an
 * event loop with the clients that measure echo. It prints JSON lines; `{ev:"result"}` is its answer.
 */
export function runActor<T>(
  script: string,
  args: unknown,
  onEvent: (ev: { ev: string; [k: string]: unknown }) => void = () => {},
  timeoutMs = 600_000,
): Promise<T> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(args)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-4000)));
  return new Promise<T>((resolve, reject) => {
    let result: T | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let ev: { ev: string; [k: string]: unknown };
      try {
        ev = JSON.parse(line);
      } catch {
        return;
      }
      if (ev.ev === 'result') result = ev.value as T;
      else onEvent(ev);
    });
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      if (result !== undefined) resolve(result);
      else reject(new Error(`${script} exited (${code ?? sig}) without a result: ${err.slice(-800)}`));
    });
  });
}

const NOISE_PROBE = `
const { monitorEventLoopDelay } = require('node:perf_hooks');
const h = monitorEventLoopDelay({ resolution: 10 });
h.enable();
process.stdin.setEncoding('utf8').on('data', () => {
  process.stdout.write(JSON.stringify({ p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6, count: h.count }) + '\\n');
  h.reset();
}).on('end', () => process.exit(0));
`;

/**
 * The machine's scheduling noise: an idle Node process that only measures how late its 10 ms timer fires. On a
 * shared, busy machine this floor (not the server) explains much of a latency tail; read() returns it since the last read.
 */
export function noiseProbe(): { read(): Promise<LoopDelay>; stop(): void } {
  const child = spawn(process.execPath, ['-e', NOISE_PROBE], { stdio: ['pipe', 'pipe', 'ignore'] });
  const waiting: ((l: LoopDelay) => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => waiting.shift()?.(JSON.parse(line) as LoopDelay));
  return {
    read: () =>
      new Promise<LoopDelay>((resolve) => {
        const w = (l: LoopDelay) => (clearTimeout(timer), resolve(l));
        const timer = setTimeout(() => (waiting.splice(waiting.indexOf(w), 1), resolve({ p50: NaN, p99: NaN, max: NaN, count: 0 })), 5000);
        waiting.push(w);
        child.stdin!.write('r\n');
      }),
    stop: () => void child.stdin!.end(),
  };
}

/**
 * Named phases of a run: at each switch, the server's event-loop delay and the machine's noise floor of the phase
 * that ended are read, and the echo log starts tagging samples with the new name.
 */
export class Phases {
  readonly loop: Record<string, LoopDelay> = {};
  readonly noise: Record<string, LoopDelay> = {};
  /** ms since start() at which each phase began. */
  readonly starts: Record<string, number> = {};
  current = 'base';
  private readonly probe = noiseProbe();
  private t0 = performance.now();
  constructor(
    private readonly server: LoadServer,
    private readonly echo?: { phase: string },
  ) {}

  async start(name = 'base'): Promise<void> {
    await Promise.all([this.server.loopDelay(), this.probe.read()]);
    this.t0 = performance.now();
    this.current = name;
    this.starts[name] = 0;
    if (this.echo) this.echo.phase = name;
  }

  async next(name: string): Promise<void> {
    const prev = this.current;
    this.current = name;
    this.starts[name] = performance.now() - this.t0;
    if (this.echo) this.echo.phase = name;
    const [l, n] = await Promise.all([this.server.loopDelay().catch(() => null), this.probe.read()]);
    if (l) this.loop[prev] = l;
    this.noise[prev] = n;
  }

  stop(): void {
    this.probe.stop();
  }
}

/** "p99 / max" lateness (ms) of a phase's 10 ms timer (the histogram counts the 10 ms interval itself), for tables. */
export const delayCell = (l: LoopDelay | undefined): string =>
  l && Number.isFinite(l.p99) ? `${Math.max(0, l.p99 - 10).toFixed(0)} / ${Math.max(0, l.max - 10).toFixed(0)}` : 'n/a';
