// input.ts: the bounded, ordered input queue in front of a non-blocking pty master: never blocks, refuses over its cap.
//
// Why: a blocking write(2) on the pty master parks the server's only thread in n_tty_write as soon as the box stops
// reading (a 16 KiB paste into `sleep 600` froze every session, health and SIGTERM). The master is O_NONBLOCK
// (native-bindings takePtyMaster), so the kernel takes what fits and answers EAGAIN (write(2), pty(7)); what it did
// not take waits here, in order, and is retried on a backoff timer, since libuv gives Node no writability watch on a
// fd it does not own. node-pty does the same (queue + fs.write + retry on EAGAIN after a short timeout).

/** Writes as much of chunk as the kernel takes now: the count (0 = would block). Throws when the fd is dead (EIO). */
export type TryWrite = (chunk: Buffer) => number;

export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export interface InputQueueOptions {
  /** Bytes that may wait; input that would go over is refused whole. */
  cap: number;
  /** Retry delays after EAGAIN: start at minMs, double per retry without progress, at most maxMs. */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** At most this many bytes handed to the kernel per attempt, so one attempt stays short. */
  maxPerAttempt?: number;
  timers?: Timers;
  /** The queue became empty after bytes had to wait (everything was written). */
  onDrain?: () => void;
  /** The fd failed (the box is gone): what was queued is dropped. */
  onError?: (err: Error) => void;
}

export interface QueueStats {
  queued: number;
  /** Bytes the kernel took, in total. */
  written: number;
  /** Bytes refused because the queue was at its cap (or closed). */
  refused: number;
  refusals: number;
  /** Attempts that found the pty full (EAGAIN or 0 bytes). */
  blocked: number;
  maxQueued: number;
}

const realTimers: Timers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class InputQueue {
  readonly cap: number;
  private readonly items: Buffer[] = [];
  /** Offset already written of items[0]. */
  private headOffset = 0;
  private timer: unknown = null;
  private delay: number;
  private closed = false;
  /** Bytes were left over after an attempt: 'drain' is due when the queue empties (not after every keystroke). */
  private waited = false;
  private readonly minMs: number;
  private readonly maxMs: number;
  private readonly maxPerAttempt: number;
  private readonly timers: Timers;
  readonly stats: QueueStats = { queued: 0, written: 0, refused: 0, refusals: 0, blocked: 0, maxQueued: 0 };

  constructor(
    private readonly tryWrite: TryWrite,
    private readonly opts: InputQueueOptions,
  ) {
    if (!(opts.cap > 0)) throw new RangeError(`input queue cap must be positive: ${opts.cap}`);
    this.cap = opts.cap;
    this.minMs = opts.retryMinMs ?? 1;
    this.maxMs = opts.retryMaxMs ?? 50;
    this.maxPerAttempt = opts.maxPerAttempt ?? 256 * 1024;
    this.timers = opts.timers ?? realTimers;
    this.delay = this.minMs;
  }

  get queued(): number {
    return this.stats.queued;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Queues data behind what waits and tries to write at once (a keystroke's echo is not delayed by a timer).
   * False: refused whole (it would take the queue over its cap, or the queue is closed); nothing of it is kept.
   */
  push(data: Buffer): boolean {
    if (data.length === 0) return !this.closed;
    if (this.closed || this.stats.queued + data.length > this.cap) {
      this.stats.refused += data.length;
      this.stats.refusals++;
      return false;
    }
    this.items.push(data);
    this.stats.queued += data.length;
    if (this.stats.queued > this.stats.maxQueued) this.stats.maxQueued = this.stats.queued;
    // Waiting for a retry already: keep the order, the timer writes it.
    if (this.timer === null) this.attempt();
    return true;
  }

  /** Drops everything and stops retrying (the box is being destroyed): no write happens after this returns. */
  close(): void {
    this.closed = true;
    this.waited = false;
    this.cancel();
    this.items.length = 0;
    this.headOffset = 0;
    this.stats.queued = 0;
  }

  private cancel(): void {
    if (this.timer !== null) this.timers.clear(this.timer);
    this.timer = null;
  }

  private attempt(): void {
    this.timer = null;
    if (this.closed) return;
    let budget = this.maxPerAttempt;
    let progressed = false;
    while (this.items.length && budget > 0) {
      const head = this.items[0]!;
      const rest = head.subarray(this.headOffset, this.headOffset + budget);
      let n: number;
      try {
        n = this.tryWrite(rest);
      } catch (err) {
        this.close();
        this.opts.onError?.(err as Error);
        return;
      }
      if (n > 0) {
        progressed = true;
        budget -= n;
        this.stats.written += n;
        this.stats.queued -= n;
        this.headOffset += n;
        if (this.headOffset >= head.length) {
          this.items.shift();
          this.headOffset = 0;
        }
      }
      if (n < rest.length) break; // the kernel took less than offered: it is full for now
    }
    if (!this.items.length) {
      this.delay = this.minMs;
      if (this.waited) this.opts.onDrain?.();
      this.waited = false;
      return;
    }
    this.waited = true;
    if (progressed) this.delay = this.minMs;
    else {
      this.stats.blocked++;
      this.delay = Math.min(this.maxMs, this.delay * 2);
    }
    // Budget used up with the kernel still taking: go on next turn without waiting, so other work runs between.
    this.timer = this.timers.set(() => this.attempt(), budget <= 0 ? 0 : this.delay);
  }
}
