// Test-only SandboxHandle: stage events, a cooked-tty mini shell (echo, stty size, hostname, yes, flood N, seq N, sleep, exit), pause/resume, the engine's input queue.
import type { SubCgroup } from '../cgroups/delegate-box.ts';
import { EventEmitter } from 'node:events';
import { SyscallError } from '../../../native-bindings/errors.ts';
import { InputQueue } from '../input.ts';
import { randomBytes } from 'node:crypto';
import {
  STAGES,
  SandboxError,
  type CreateOptions,
  type ExitInfo,
  type InputStats,
  type NamespaceInfo,
  type ProcessRole,
  type SandboxConfig,
  type SandboxHandle,
  type SandboxStats,
  type StageEvent,
  type StageName,
} from '../types.ts';

export interface FakeOptions {
  /** Delay between stage events during creation (0: one per event-loop turn). */
  stageDelayMs?: number;
  /** Bytes per output batch, like the engine's one read batch per turn. */
  chunkSize?: number;
  /** Delay between output batches (default: next event-loop turn), to keep a stream going for a while. */
  paceMs?: number;
}

const RUNNING_AT = STAGES.indexOf('running');
const EXIT_AT = STAGES.indexOf('child_exit');
const DESTROY_AT = STAGES.indexOf('overlay_umount');
const ROLE = (s: StageName): ProcessRole =>
  ['unshare_user', 'unshare_ns', 'hostname', 'net_lo_up', 'fork2', 'child_exit', 'umount_proc', 'umount_dev'].includes(s)
    ? 'namespaced_parent'
    : STAGES.indexOf(s) >= STAGES.indexOf('mount_private') && STAGES.indexOf(s) <= STAGES.indexOf('exec')
      ? 'inner_child'
      : 'outer';
let nextPid = 40000;

export class FakeSandbox extends EventEmitter implements SandboxHandle {
  readonly id = randomBytes(6).toString('hex');
  readonly pids = { namespacedParent: nextPid++, init: nextPid++ };
  readonly events: StageEvent[] = [];
  readonly layers = { lower: '/fake/lower', upper: '/fake/upper', merged: '/fake/merged' };
  rows: number;
  cols: number;
  paused = false;
  pauseCalls = 0;
  resumeCalls = 0;
  /** Bytes emitted as 'data'. */
  emitted = 0;
  /** Every byte written as input, in order. */
  readonly input: Buffer[] = [];
  destroyCalls = 0;
  destroyed = false;
  exitInfo: ExitInfo | null = null;
  private line = '';
  private readonly out: Buffer[] = [];
  /** A long-running command's output source: next batch of at most n bytes, or null when done. */
  private gen: ((n: number) => Buffer | null) | null = null;
  private pumping = false;
  private readonly chunkSize: number;
  private exitWaiters: ((e: ExitInfo) => void)[] = [];
  private onStage?: (e: StageEvent) => void;
  /** False: the box does not read its terminal (a real `sleep 600`): input waits in the queue, as with the engine. */
  reading = true;
  private readonly inputQ: InputQueue;

  constructor(
    readonly config: SandboxConfig,
    private readonly opts: FakeOptions = {},
  ) {
    super();
    // The engine's own queue, in front of a "pty" that takes everything while reading and nothing otherwise.
    this.inputQ = new InputQueue((chunk) => (this.reading ? (this.consume(chunk), chunk.length) : 0), {
      cap: config.inputQueueBytes ?? 1024 * 1024,
      onDrain: () => this.emit('drain'),
    });
    this.rows = config.rows ?? 24;
    this.cols = config.cols ?? 80;
    this.chunkSize = opts.chunkSize ?? 16 * 1024;
  }

  /** Runs the creation stages; rejects like the engine when config.failAt is reached. */
  async start(onStage?: (e: StageEvent) => void): Promise<void> {
    this.onStage = onStage;
    for (const stage of STAGES.slice(0, RUNNING_AT + 1)) {
      await new Promise((r) => (this.opts.stageDelayMs ? setTimeout(r, this.opts.stageDelayMs) : setImmediate(r)));
      if (this.destroyed) throw new SandboxError(stage, new SyscallError('kill', 4), 'destroyed during creation');
      if (stage === this.config.failAt) {
        const err = new SandboxError(stage, new SyscallError('mount', 1, '/fake'));
        this.stage(stage, false, err.info);
        throw err;
      }
      this.stage(stage, true);
    }
    this.queue('$ ');
  }

  private stage(stage: StageName, ok: boolean, error?: SandboxError['info']): void {
    const e: StageEvent = {
      type: 'stage',
      stage,
      role: ROLE(stage),
      hostPid: this.pids.init,
      boxPid: ROLE(stage) === 'inner_child' ? 1 : null,
      t: performance.now(),
      durationMs: 0.1,
      ok,
      ...(error ? { error } : {}),
    };
    this.events.push(e);
    this.onStage?.(e);
    this.emit('stage', e);
  }

  write(data: Buffer | string): boolean {
    if (this.exitInfo) return false;
    return this.inputQ.push(Buffer.isBuffer(data) ? data : Buffer.from(data));
  }

  get inputQueued(): number {
    return this.inputQ.queued;
  }

  get inputStats(): InputStats {
    return { ...this.inputQ.stats, cap: this.inputQ.cap };
  }

  /** Stops or restarts reading input (a reader that starts again gets the queue at the next retry). */
  setReading(on: boolean): void {
    this.reading = on;
  }

  private consume(buf: Buffer): void {
    this.input.push(buf);
    // Printable runs are echoed as one buffer (a paste is one queue entry, not one per byte).
    let run = -1;
    const flush = (end: number): void => {
      if (run < 0) return;
      const part = buf.subarray(run, end);
      this.line += part.toString('latin1');
      this.queue(Buffer.from(part));
      run = -1;
    };
    for (let i = 0; i < buf.length; i++) {
      const byte = buf[i]!;
      if (byte >= 0x20 && byte !== 0x7f) {
        if (run < 0) run = i;
        continue;
      }
      flush(i);
      if (byte === 0x03) {
        this.gen = null;
        this.out.length = 0;
        this.line = '';
        this.queue('^C\r\n$ ');
      } else if (byte === 0x0d) {
        this.queue('\r\n');
        const cmd = this.line;
        this.line = '';
        this.run(cmd.trim());
      } else if (byte === 0x7f) {
        if (this.line) {
          this.line = this.line.slice(0, -1);
          this.queue('\b \b');
        }
      }
    }
    flush(buf.length);
  }

  private run(cmd: string): void {
    const [name, ...args] = cmd.split(/\s+/);
    if (!name) return this.queue('$ ');
    if (name === 'exit') return this.exit(Number(args[0] ?? 0), null);
    if (name === 'sleep') return void (this.reading = false); // reads nothing more until setReading(true)
    if (name === 'yes' || name === 'flood') {
      let left = name === 'yes' ? Infinity : Number(args[0] ?? 0);
      this.gen = (n) => {
        if (left <= 0) return null;
        const take = Math.min(n, left);
        left -= take;
        return Buffer.alloc(take, 'y\r\n');
      };
      return this.pump();
    }
    if (name === 'seq') {
      let i = 1;
      const last = Number(args[0] ?? 0);
      this.gen = (n) => {
        if (i > last) return null;
        let s = '';
        while (i <= last && s.length < n - 16) s += `${i++}\r\n`;
        return Buffer.from(s);
      };
      return this.pump();
    }
    const outs: Record<string, () => string> = {
      echo: () => args.join(' '),
      hostname: () => this.config.hostname,
      stty: () => (args[0] === 'size' ? `${this.rows} ${this.cols}` : ''),
    };
    const fn = outs[name];
    this.queue(fn ? `${fn()}\r\n$ ` : `sh: ${name}: not found\r\n$ `);
  }

  /** Output as the shell would write it to the pty; it only leaves the "pty" while not paused. */
  queue(data: string | Buffer): void {
    this.out.push(Buffer.isBuffer(data) ? data : Buffer.from(data));
    this.pump();
  }

  private pump(): void {
    if (this.pumping || this.paused || this.destroyed) return;
    this.pumping = true;
    const later = (fn: () => void): unknown => (this.opts.paceMs ? setTimeout(fn, this.opts.paceMs) : setImmediate(fn));
    later(() => {
      this.pumping = false;
      if (this.paused || this.destroyed) return;
      const parts: Buffer[] = [];
      let n = 0;
      while (this.out.length && n < this.chunkSize) {
        const b = this.out.shift()!;
        parts.push(b);
        n += b.length;
      }
      if (n < this.chunkSize && this.gen) {
        let b = this.gen(this.chunkSize - n);
        if (!b) {
          this.gen = null; // the command finished: the shell prints its prompt again
          b = Buffer.from('$ ');
        }
        parts.push(b);
        n += b.length;
      }
      if (n === 0) return;
      this.emitted += n;
      this.emit('data', parts.length === 1 ? parts[0] : Buffer.concat(parts));
      if (this.out.length || this.gen) this.pump();
    });
  }

  private exit(code: number | null, signal: number | null): void {
    if (this.exitInfo) return;
    this.gen = null;
    this.exitInfo = { code, signal, status: code ?? 128 + (signal ?? 0) };
    const info = this.exitInfo;
    // Let queued output leave first, as the engine drains the pty before reporting exit.
    const finish = (): void => {
      if (this.out.length && !this.destroyed && !this.paused) return void setImmediate(finish);
      for (const s of STAGES.slice(EXIT_AT, DESTROY_AT)) this.stage(s, true);
      this.emit('exit', info);
      for (const w of this.exitWaiters.splice(0)) w(info);
    };
    setImmediate(finish);
  }

  endInput(): void {}
  pause(): void {
    this.pauseCalls++;
    this.paused = true;
  }
  resume(): void {
    this.resumeCalls++;
    this.paused = false;
    this.pump();
  }
  resize(rows: number, cols: number): void {
    this.rows = rows;
    this.cols = cols;
  }
  signal(sig: number): void {
    if (sig === 9 || sig === 15) this.exit(null, sig);
  }
  wait(): Promise<ExitInfo> {
    return this.exitInfo ? Promise.resolve(this.exitInfo) : new Promise((r) => this.exitWaiters.push(r));
  }
  async stats(): Promise<SandboxStats> {
    return {
      memory: { current: 1_000_000 + this.emitted, limit: 256 * 1024 * 1024, oomKills: 0 },
      cpu: { usageUsec: this.emitted, quotaFraction: 0.5, nrThrottled: 0, throttledUsec: 0 },
      pids: { current: 1, max: this.config.pids },
      cgroupVersion: 1,
    };
  }
  /** What a delegated lab box's learner made (tests set it). */
  subtree: SubCgroup[] = [];
  async cgroupSubtree(): Promise<SubCgroup[]> {
    return this.subtree;
  }
  async namespaces(): Promise<NamespaceInfo> {
    return { host: { pid: 1 }, box: { pid: 2 } };
  }
  async destroy(): Promise<void> {
    this.destroyCalls++;
    if (this.destroyed) return;
    this.destroyed = true;
    this.inputQ.close();
    this.out.length = 0;
    this.gen = null;
    if (!this.exitInfo) {
      this.exitInfo = { code: null, signal: 9, status: 137 };
      this.emit('exit', this.exitInfo);
      for (const w of this.exitWaiters.splice(0)) w(this.exitInfo);
    }
    await new Promise((r) => setImmediate(r));
    for (const s of STAGES.slice(DESTROY_AT)) this.stage(s, true);
    this.emit('destroyed');
  }
}

/** A createSandbox() stand-in that records every sandbox it made. */
export function fakeFactory(opts: FakeOptions = {}) {
  const made: FakeSandbox[] = [];
  const create = async (config: SandboxConfig, o?: CreateOptions): Promise<SandboxHandle> => {
    const sb = new FakeSandbox(config, opts);
    made.push(sb);
    try {
      await sb.start(o?.onStage);
    } catch (err) {
      await sb.destroy();
      throw err;
    }
    return sb;
  };
  return { create, made, live: () => made.filter((s) => !s.destroyed) };
}
