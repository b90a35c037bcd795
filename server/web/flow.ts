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

  constructor(private readonly onChange: (paused: boolean) => void, opts: FlowOptions = {}) {
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
