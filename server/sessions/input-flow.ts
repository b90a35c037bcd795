// Input side of one session: keystrokes into the sandbox's bounded queue; hold the socket while the box drains a
// burst, refuse over the cap (with a notice in the terminal) when it stopped reading.
import type { SandboxHandle } from '../engine/types.ts';

/** Input flow of a session: hold the socket above this fraction of the queue's cap;
 * a hold with no byte taken by the box for stallMs ends, and input over the cap is refused. ws emits every frame of
 * the chunk it already read after pause() (up to one 64 KiB socket read), so the cap's other 3/4 must exceed that:
 * BOXLAB_INPUT_QUEUE is at least 128K. */
export const INPUT_FLOW = { holdFraction: 0.25, stallMs: 1000 } as const;

export interface InputFlowHost {
  /** Stop / restart reading the client's socket (TCP back-pressure: a paste waits in the client, not here). */
  hold(on: boolean): void;
  /** Tells the learner, in the terminal, what happened to their input. */
  notice(text: string, code: 'input_refused' | 'input_resumed'): void;
  log?(line: string): void;
}

export interface InputFlowOptions {
  /** Hold the socket once this fraction of the sandbox's queue cap waits. */
  holdFraction?: number;
  /** Held with no byte taken by the box for this long: it does not read; release, and refuse at the cap. */
  stallMs?: number;
}

export interface InputFlowStats {
  holds: number;
  stalls: number;
  refusedBytes: number;
  refusedFrames: number;
  notices: number;
}

const kib = (n: number): string => (n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : `${Math.round(n / 1024)} KiB`);

/**
 * A box that reads (cat, a shell) gets the whole paste: above holdFraction×cap waiting, the socket is held (no frame
 * read), so the client's paste waits in its own send buffer and TCP; the hold ends when the queue is empty. A box that
 * does not read (sleep 600) must not hold the socket (resize, acks, reset travel on it): after stallMs without progress
 * the hold ends, the queue fills to its cap and what comes beyond is refused, with one notice per episode.
 */
export class InputFlow {
  private sb: SandboxHandle | null = null;
  private held = false;
  private timer: NodeJS.Timeout | null = null;
  private lastWritten = 0;
  /** Bytes written when the last hold ended for lack of progress: no new hold until the box took more. */
  private stalledAt: number | null = null;
  /** Refused in the current episode (since the queue last emptied). */
  private refusedNow = 0;
  private readonly holdFraction: number;
  private readonly stallMs: number;
  readonly stats: InputFlowStats = { holds: 0, stalls: 0, refusedBytes: 0, refusedFrames: 0, notices: 0 };

  constructor(
    private readonly host: InputFlowHost,
    opts: InputFlowOptions = {},
  ) {
    this.holdFraction = opts.holdFraction ?? INPUT_FLOW.holdFraction;
    this.stallMs = opts.stallMs ?? INPUT_FLOW.stallMs;
  }

  get isHeld(): boolean {
    return this.held;
  }

  /** The session's current sandbox (null while none runs): a new one starts with an empty queue and no hold. */
  setSandbox(sb: SandboxHandle | null): void {
    this.sb = sb;
    this.refusedNow = 0;
    this.stalledAt = null;
    this.release();
  }

  /** A keystroke frame for the running sandbox. */
  input(data: Buffer): void {
    const sb = this.sb;
    if (!sb) return;
    if (!sb.write(data)) return this.refused(sb, data.length);
    if (this.held || sb.inputQueued <= sb.inputStats.cap * this.holdFraction) return;
    if (this.stalledAt !== null && sb.inputStats.written === this.stalledAt) return; // still not reading
    this.stalledAt = null;
    this.hold(sb);
  }

  /** The sandbox's queue emptied: the box read everything. */
  drained(sb: SandboxHandle): void {
    if (sb !== this.sb) return;
    this.release();
    this.stalledAt = null;
    if (this.refusedNow > 0) {
      this.stats.notices++;
      this.host.notice(`the box reads its terminal again; ${this.refusedNow} bytes of input were dropped meanwhile`, 'input_resumed');
      this.refusedNow = 0;
    }
  }

  /** A (new) client attached: it starts unheld; the next frame re-applies a hold if the queue asks for it. */
  attached(): void {
    this.release();
  }

  dispose(): void {
    this.setSandbox(null);
  }

  private refused(sb: SandboxHandle, n: number): void {
    this.stats.refusedBytes += n;
    this.stats.refusedFrames++;
    const first = this.refusedNow === 0;
    this.refusedNow += n;
    if (!first) return;
    this.host.log?.(`input: refused ${n} bytes (${sb.inputQueued} queued, cap ${sb.inputStats.cap})`);
    this.stats.notices++;
    this.host.notice(
      `input refused: the box is not reading its terminal and ${kib(sb.inputQueued)} of input already wait for it ` +
        `(limit ${kib(sb.inputStats.cap)}); what you type is dropped until it reads again. Reset ends it.`,
      'input_refused',
    );
  }

  private hold(sb: SandboxHandle): void {
    this.held = true;
    this.stats.holds++;
    this.lastWritten = sb.inputStats.written;
    this.host.hold(true);
    this.timer = setInterval(() => {
      if (sb !== this.sb) return this.release();
      const written = sb.inputStats.written;
      if (written !== this.lastWritten) return void (this.lastWritten = written);
      this.stats.stalls++;
      this.stalledAt = written;
      this.host.log?.(`input: no byte taken for ${this.stallMs} ms with ${sb.inputQueued} queued: socket released, refusing over the cap`);
      this.release();
    }, this.stallMs);
    this.timer.unref();
  }

  private release(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (!this.held) return;
    this.held = false;
    this.host.hold(false);
  }
}
