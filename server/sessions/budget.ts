// Token buckets for fairness: what one session, one address or one stream of connection attempts may spend per second.
// Over budget a client is first slowed (its socket is not read until its debt is paid), then closed (docs/protocol.md).

export interface Rate {
  /** Tokens added per second. */
  perSec: number;
  /** Bucket size: what a client may spend at once after being quiet. */
  burst: number;
}

/**
 * A token bucket that may go into debt: take() always succeeds and says how long the owner must wait (ms) until the
 * debt is paid. Pure: time comes from `now` (ms), so tests drive it without timers.
 */
export class TokenBucket {
  private tokens: number;
  private at: number;
  constructor(
    readonly rate: Rate,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(rate.perSec > 0 && rate.burst > 0)) throw new RangeError(`budget: need perSec > 0 and burst > 0, got ${JSON.stringify(rate)}`);
    this.tokens = rate.burst;
    this.at = now();
  }

  /** Tokens now (negative: debt). */
  get level(): number {
    this.refill();
    return this.tokens;
  }

  /** Takes n tokens; returns ms until the level is back at zero (0 when it never went below). */
  take(n: number): number {
    this.refill();
    this.tokens -= n;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.rate.perSec;
  }

  /** ms until n tokens could be taken without debt (0: now). Takes nothing. */
  waitFor(n: number): number {
    this.refill();
    return this.tokens >= n ? 0 : ((n - this.tokens) * 1000) / this.rate.perSec;
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.rate.burst, this.tokens + ((t - this.at) * this.rate.perSec) / 1000);
    this.at = t;
  }
}

/** Messages and bytes of one owner (a session, or one remote address). */
export class MessageBudget {
  readonly messages: TokenBucket;
  readonly bytes: TokenBucket;
  constructor(limits: { messages: Rate; bytes: Rate }, now?: () => number) {
    this.messages = new TokenBucket(limits.messages, now);
    this.bytes = new TokenBucket(limits.bytes, now);
  }

  /** Charges a message of n bytes (counted as `cost` messages); ms to wait for each bucket (0: within budget). */
  charge(n: number, cost = 1): { messagesMs: number; bytesMs: number } {
    return { messagesMs: this.messages.take(cost), bytesMs: this.bytes.take(n) };
  }

  /** At least half of both buckets is back: the owner has behaved for a while. */
  get recovered(): boolean {
    return this.messages.level >= this.messages.rate.burst / 2 && this.bytes.level >= this.bytes.rate.burst / 2;
  }
}

export type Verdict = { action: 'ok' } | { action: 'slow'; ms: number; why: string } | { action: 'close'; why: string };

export interface PacerOptions {
  /** A client slowed without a break for this long is closed. */
  closeAfterMs: number;
  /** A debt deeper than this (ms of budget) is closed at once: frames it sent before it was slowed kept coming. */
  maxDebtMs: number;
  now?: () => number;
}

/**
 * Slow, then close: one socket's verdict over several budgets (its session's and its address's). Each message is
 * charged to all of them; the deepest debt decides how long the socket is not read. Only a message flood is closed:
 * bytes over budget are slowed, never closed, since a paste into a box that reads is legitimate and every byte of
 * it must arrive (the socket is just read at the budget's pace: TCP holds the rest in the client). "Slowed without a
 * break" ends only once every message budget has recovered half its burst, so a client that floods again the
 * moment it is read is not forgiven between two pauses.
 */
export class Pacer {
  private slowSince: number | null = null;
  private readonly now: () => number;
  constructor(
    private readonly budgets: readonly { name: string; budget: MessageBudget }[],
    private readonly opts: PacerOptions,
  ) {
    this.now = opts.now ?? (() => performance.now());
  }

  get slowedForMs(): number {
    return this.slowSince === null ? 0 : this.now() - this.slowSince;
  }

  charge(bytes: number, cost = 1): Verdict {
    const t = this.now();
    if (this.slowSince !== null && this.budgets.every((b) => b.budget.messages.level >= b.budget.messages.rate.burst / 2))
      this.slowSince = null;
    let ms = 0;
    let why = '';
    let floodMs = 0;
    let floodWhy = '';
    for (const b of this.budgets) {
      const w = b.budget.charge(bytes, cost);
      if (w.messagesMs > floodMs) {
        floodMs = w.messagesMs;
        floodWhy = `${b.name} over budget`;
      }
      const most = Math.max(w.messagesMs, w.bytesMs);
      if (most > ms) {
        ms = most;
        why = `${b.name} over budget${w.bytesMs > w.messagesMs ? ' (bytes)' : ''}`;
      }
    }
    if (ms === 0) return { action: 'ok' };
    if (floodMs === 0) return { action: 'slow', ms, why };
    this.slowSince ??= t;
    if (floodMs > this.opts.maxDebtMs) return { action: 'close', why: floodWhy };
    if (t - this.slowSince >= this.opts.closeAfterMs)
      return { action: 'close', why: `${floodWhy} for ${Math.round(t - this.slowSince)} ms` };
    return { action: 'slow', ms, why };
  }
}

/**
 * Per-key budgets that live as long as something uses them: an address's budget is shared by all of its sockets and
 * forgotten once the last one is gone and the budget is full again (swept lazily, so a reconnect cannot reset it).
 */
export class BudgetBook<B extends { recovered: boolean }> {
  private readonly entries = new Map<string, { budget: B; users: number }>();
  private sweptAt = -Infinity;
  constructor(private readonly make: () => B) {}

  acquire(key: string): B {
    const e = this.peek(key);
    e.users++;
    return e.budget;
  }

  /** The key's entry (made if new) without counting a user. */
  peek(key: string): { budget: B; users: number } {
    this.sweep();
    let e = this.entries.get(key);
    if (!e) this.entries.set(key, (e = { budget: this.make(), users: 0 }));
    return e;
  }

  release(key: string): void {
    const e = this.entries.get(key);
    if (e) e.users = Math.max(0, e.users - 1);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Drops unused entries whose budget has recovered (an unused one in debt is kept until it has); at most once a second. */
  sweep(force = false): void {
    const t = performance.now();
    if (!force && t - this.sweptAt < 1000) return;
    this.sweptAt = t;
    for (const [k, e] of this.entries) if (e.users === 0 && e.budget.recovered) this.entries.delete(k);
  }
}

/** The key budgets are counted under: IPv4 as is (also when mapped into IPv6), IPv6 by its /64 (one host's prefix). */
export function addressKey(addr: string | undefined): string {
  if (!addr) return 'unknown';
  const a = addr.toLowerCase();
  if (a.startsWith('::ffff:') && a.includes('.')) return a.slice(7);
  if (!a.includes(':')) return a;
  const [head, tail = ''] = a.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const full = a.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${full
    .slice(0, 4)
    .map((h) => h.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
