// Ack-based flow control for one output consumer: pause the pty above the high watermark, resume below the low one.
import { FLOW } from '../protocol/messages.ts';

export interface FlowOptions {
  highWater?: number;
  lowWater?: number;
  /** Paused with no ack for this long → resync (counters cleared, resume). 0 disables. */
  resyncMs?: number;
  now?: () => number;
}

export interface FlowStats {
  pauses: number;
  resumes: number;
  resyncs: number;
  maxUnacked: number;
}

/**
 * Counts bytes handed to a consumer (a socket, the headless mirror) and not yet acknowledged by it.
 * Pure: it never touches a timer; the owner calls check() (e.g. from a timer armed while paused).
 * onChange(paused) fires only on transitions, so several gates can be OR-ed by the owner.
 */
export class FlowControl {
  readonly high: number;
  readonly low: number;
  readonly resyncMs: number;
  private readonly now: () => number;
  private unackedBytes = 0;
  private isPaused = false;
  private lastProgress = 0;
  readonly stats: FlowStats = { pauses: 0, resumes: 0, resyncs: 0, maxUnacked: 0 };

  constructor(
    private readonly onChange: (paused: boolean) => void,
    opts: FlowOptions = {},
  ) {
    this.high = opts.highWater ?? FLOW.highWater;
    this.low = opts.lowWater ?? FLOW.lowWater;
    this.resyncMs = opts.resyncMs ?? FLOW.resyncMs;
    this.now = opts.now ?? (() => performance.now());
    if (!(this.low >= 0 && this.low < this.high)) throw new RangeError(`flow: need 0 <= low (${this.low}) < high (${this.high})`);
  }

  get paused(): boolean {
    return this.isPaused;
  }
  get unacked(): number {
    return this.unackedBytes;
  }

  /** Bytes handed to the consumer. */
  sent(n: number): void {
    this.unackedBytes += n;
    if (this.unackedBytes > this.stats.maxUnacked) this.stats.maxUnacked = this.unackedBytes;
    if (!this.isPaused && this.unackedBytes > this.high) {
      this.isPaused = true;
      this.lastProgress = this.now();
      this.stats.pauses++;
      this.onChange(true);
    }
  }

  /** Bytes the consumer reports as processed. Over-acks clamp at zero (a client cannot drive it negative). */
  ack(n: number): void {
    this.unackedBytes = Math.max(0, this.unackedBytes - n);
    this.lastProgress = this.now();
    if (this.isPaused && this.unackedBytes < this.low) this.setResumed();
  }

  /** New consumer attached: forget what the old one owed. */
  reset(): void {
    this.unackedBytes = 0;
    if (this.isPaused) this.setResumed();
  }

  /** Resync if paused and nothing was acked for resyncMs. Returns ms until the next check is due, or null if not paused. */
  check(): number | null {
    if (!this.isPaused) return null;
    if (this.resyncMs <= 0) return null;
    const idle = this.now() - this.lastProgress;
    if (idle >= this.resyncMs) {
      this.stats.resyncs++;
      this.reset();
      return null;
    }
    return this.resyncMs - idle;
  }

  private setResumed(): void {
    this.isPaused = false;
    this.stats.resumes++;
    this.onChange(false);
  }
}

/** OR of several pause requests (socket flow, mirror flow): the sandbox is paused while any holder wants it. */
export class PauseGate {
  private readonly holders = new Set<string>();
  constructor(private target: { pause(): void; resume(): void }) {}

  set(holder: string, paused: boolean): void {
    const before = this.holders.size > 0;
    if (paused) this.holders.add(holder);
    else this.holders.delete(holder);
    const after = this.holders.size > 0;
    if (before && !after) this.target.resume();
    else if (!before && after) this.target.pause();
  }

  get paused(): boolean {
    return this.holders.size > 0;
  }

  /** Points the gate at a new sandbox: the new one starts unpaused, so re-apply any current hold. */
  retarget(target: { pause(): void; resume(): void }): void {
    this.target = target;
    if (this.holders.size > 0) target.pause();
  }
}

export interface CoalesceOptions {
  /** A frame is sent as soon as this many bytes are queued. */
  maxFrame?: number;
  /** Streaming: output within this long after a frame of at least streamMinBytes waits this long to join the next frame. */
  streamMs?: number;
  streamMinBytes?: number;
  now?: () => number;
}

/**
 * Batches pty output into WebSocket frames. Output after a quiet spell (an echo, a prompt) goes out at the end of the
 * event-loop turn, so a keystroke's echo is never delayed by a timer (notes/terminal.md: a fixed 5 ms timer cost
 * 5 ms of echo). While output streams, the pty gives at most 4 KiB per read (the n_tty buffer), one read per turn;
 * a frame per read costs every party per frame (ws writev, Chromium's network and browser processes, one xterm
 * write and callback), so a stream is batched for streamMs or up to maxFrame instead (docs/performance.md, Terminal).
 */
export class FrameCoalescer {
  private queue: Buffer[] = [];
  private queued = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private immediate: ReturnType<typeof setImmediate> | null = null;
  private lastFlushAt = -Infinity;
  private lastFrameBytes = 0;
  private readonly maxFrame: number;
  private readonly streamMs: number;
  private readonly streamMin: number;
  private readonly now: () => number;
  readonly stats = { frames: 0, bytes: 0, streamed: 0 };

  constructor(
    private readonly sendFrame: (data: Buffer) => void,
    opts: CoalesceOptions = {},
  ) {
    this.maxFrame = opts.maxFrame ?? 64 * 1024;
    this.streamMs = opts.streamMs ?? 5;
    this.streamMin = opts.streamMinBytes ?? 1024;
    this.now = opts.now ?? (() => performance.now());
  }

  get pending(): number {
    return this.queued;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.queue.push(chunk);
    this.queued += chunk.length;
    if (this.queued >= this.maxFrame) return this.flush();
    if (this.timer || this.immediate) return;
    if (this.lastFrameBytes >= this.streamMin && this.now() - this.lastFlushAt < this.streamMs) {
      this.stats.streamed++;
      this.timer = setTimeout(() => this.flush(), this.streamMs);
    } else this.immediate = setImmediate(() => this.flush());
  }

  /** Sends what is queued now (before a control message, so frames stay in order with it). */
  flush(): void {
    this.cancel();
    if (this.queued === 0) return;
    const data = this.queue.length === 1 ? this.queue[0]! : Buffer.concat(this.queue, this.queued);
    this.queue = [];
    this.queued = 0;
    this.lastFlushAt = this.now();
    this.lastFrameBytes = data.length;
    this.stats.frames++;
    this.stats.bytes += data.length;
    this.sendFrame(data);
  }

  /** Drops what is queued and any pending timer (the socket is gone). */
  dispose(): void {
    this.cancel();
    this.queue = [];
    this.queued = 0;
  }

  private cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
  }
}
