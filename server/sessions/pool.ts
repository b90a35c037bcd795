// Warm pool: a few boxes made ahead with the server's default settings, so a click on Start gets a running shell at
// once. Each box is made for one future session id (its hostname is box-<id>) and handed to exactly one session.
import type { ExitInfo, SandboxConfig, SandboxHandle, StageEvent } from '../engine/types.ts';
import type { SandboxFactory } from './session.ts';

/** A ready box and what it did before anyone watched: its stage events and the shell's first output (the prompt). */
export interface PooledBox {
  /** The session id the box was made for: the session that takes the box gets this id. */
  readonly id: string;
  readonly config: SandboxConfig;
  readonly sandbox: SandboxHandle;
  readonly events: StageEvent[];
  readonly output: Buffer[];
  /** Set when the shell ended after the box was taken but before its taker listened: the taker reports it. */
  exit: ExitInfo | null;
  /** Removes the pool's listeners; the taker calls it in the same tick as it adds its own, so no byte is lost. */
  detach(): void;
}

export interface WarmPoolOptions {
  size: number;
  factory: SandboxFactory;
  /** The config a session with this id gets when nothing (lesson, class) overrides the defaults. */
  config: (id: string) => SandboxConfig | Promise<SandboxConfig>;
  newId: () => string;
  /** May one more box exist now? The owner counts sessions + pool.count against its caps and host memory. */
  admit: () => boolean;
  log?: (line: string) => void;
}

/** Output kept per pooled box before its handover: a prompt is tens of bytes; a chatty profile is cut here. */
const MAX_EARLY_OUTPUT = 64 * 1024;
/** After a failed create the pool waits this long before trying again (no hot loop against a broken host). */
const RETRY_MS = 5000;
/**
 * A take starts the replacement this much later, not at once: made at once, its fork, mounts and cgroup writes ran in
 * the server (and on the host's CPUs) while the taker's page opened its socket and waited for the replay. In Chromium
 * against the real server, click Start -> socket open took 35-65 ms with the pool against 5-10 ms without, and the
 * painted prompt came ~70 ms later (docs/performance.md, click to prompt). A freed slot still refills at once.
 */
export const REFILL_AFTER_MS = 500;

export class WarmPool {
  private readonly ready: PooledBox[] = [];
  private making = 0;
  /** Boxes being made that are to be destroyed as soon as they are ready (room given back to a session). */
  private cancelled = 0;
  private closed = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private refillTimer: NodeJS.Timeout | null = null;
  private readonly inflight = new Set<Promise<unknown>>();
  /** Boxes handed out / made / discarded (tests, bench). */
  readonly counts = { taken: 0, made: 0, discarded: 0, failed: 0 };

  constructor(private readonly opts: WarmPoolOptions) {}

  /** Boxes that exist or are being made, minus the cancelled ones: what counts against max-sessions. */
  get count(): number {
    return this.ready.length + this.making - this.cancelled;
  }
  get readyCount(): number {
    return this.ready.length;
  }

  /** The oldest ready box, now owned by the caller (never given to anyone else); the pool makes a replacement soon. */
  take(): PooledBox | null {
    const box = this.ready.shift() ?? null;
    if (box) {
      this.counts.taken++;
      this.refillTimer ??= setTimeout(() => {
        this.refillTimer = null;
        this.fill();
      }, REFILL_AFTER_MS);
      this.refillTimer.unref();
    }
    return box;
  }

  /** Gives one slot back: a box being made is destroyed when ready. For a session that could not get a pooled box. */
  shrink(): boolean {
    if (this.making - this.cancelled <= 0) return false;
    this.cancelled++;
    return true;
  }

  /**
   * Gives one slot (and its memory promise) back to a person who cannot use a pooled box (a class member's own
   * limits): a box being made, else a ready one, destroyed now. With the pool on by default, a ready box must never be
   * why a person is refused or why boxes exceed max-sessions. The pool refills when a slot frees again.
   */
  giveBack(): boolean {
    if (this.shrink()) return true;
    const box = this.ready.shift();
    if (!box) return false;
    box.detach();
    this.counts.discarded++;
    this.track(box.sandbox.destroy());
    return true;
  }

  /** Starts making boxes up to the size, while the owner admits them. */
  fill(): void {
    while (!this.closed && !this.retryTimer && this.ready.length + this.making - this.cancelled < this.opts.size && this.opts.admit()) {
      this.making++;
      this.track(this.make());
    }
  }

  private async make(): Promise<void> {
    const id = this.opts.newId();
    const events: StageEvent[] = [];
    let sb: SandboxHandle;
    let config: SandboxConfig;
    try {
      config = await this.opts.config(id);
      sb = await this.opts.factory(config, { onStage: (e) => events.push(e) });
    } catch (err) {
      this.making--;
      this.counts.failed++;
      this.opts.log?.(`warm pool: create failed: ${(err as Error).message}`);
      if (!this.closed && !this.retryTimer) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          this.fill();
        }, RETRY_MS);
        this.retryTimer.unref();
      }
      return;
    }
    this.making--;
    this.counts.made++;
    if (this.closed || this.cancelled > 0) {
      if (this.cancelled > 0) this.cancelled--;
      this.counts.discarded++;
      return sb.destroy();
    }
    const output: Buffer[] = [];
    let bytes = 0;
    const onData = (b: Buffer): void => {
      if (bytes + b.length > MAX_EARLY_OUTPUT) return;
      output.push(b);
      bytes += b.length;
    };
    const onStage = (e: StageEvent): void => void events.push(e);
    // A shell that ends before anyone took it is no use: discard and replace it.
    const onExit = (e: ExitInfo): void => {
      const i = this.ready.indexOf(box);
      if (i === -1) {
        box.exit = e;
        return;
      }
      this.ready.splice(i, 1);
      box.detach();
      this.counts.discarded++;
      this.track(sb.destroy());
      setImmediate(() => this.fill());
    };
    sb.on('data', onData).on('stage', onStage).on('exit', onExit);
    const box: PooledBox = {
      id,
      config,
      sandbox: sb,
      events,
      output,
      exit: null,
      detach: () => void sb.off('data', onData).off('stage', onStage).off('exit', onExit),
    };
    this.ready.push(box);
  }

  /** Shutdown: no more boxes; the ready ones are destroyed and boxes being made are destroyed when they arrive. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.refillTimer) clearTimeout(this.refillTimer);
    this.refillTimer = null;
    for (const box of this.ready.splice(0)) {
      box.detach();
      this.track(box.sandbox.destroy());
    }
    while (this.inflight.size) await Promise.allSettled([...this.inflight]);
  }

  private track(p: Promise<unknown>): void {
    this.inflight.add(p);
    p.catch((err) => this.opts.log?.(`warm pool: ${(err as Error).message}`)).finally(() => this.inflight.delete(p));
  }
}
