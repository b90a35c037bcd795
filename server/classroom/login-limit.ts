// Failed instructor sign-ins are rate-limited per address (IPv6: per /64) and over all addresses together: over
// budget, every attempt that presents a token gets 429 with Retry-After before the token is even compared.
import { TokenBucket, addressKey, type Rate } from '../sessions/budget.ts';

export interface LoginLimits {
  /** Failures one address may make: a burst, then one per 1/perSec seconds. */
  perAddress: Rate;
  /** Failures from everywhere (a guesser with many addresses); the instructor's own right token is then refused too,
   * which is the price of not answering a guess: a 192-bit random token cannot be guessed anyway. */
  global: Rate;
  /** Addresses remembered at most (the fullest buckets are forgotten first: they have nothing to remember). */
  maxAddresses: number;
}

export const LOGIN_LIMITS: LoginLimits = {
  perAddress: { perSec: 1 / 6, burst: 10 },
  global: { perSec: 2, burst: 100 },
  maxAddresses: 10_000,
};

export class LoginLimiter {
  private readonly byAddress = new Map<string, TokenBucket>();
  private readonly global: TokenBucket;
  readonly stats = { failures: 0, refused: 0 };

  constructor(
    private readonly limits: LoginLimits = LOGIN_LIMITS,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.global = new TokenBucket(limits.global, now);
  }

  /** Whole seconds this address must wait before its next attempt is heard (0: now). Counts a refusal when > 0. */
  retryAfterSec(addr: string | undefined): number {
    const b = this.byAddress.get(addressKey(addr));
    const ms = Math.max(b?.waitFor(1) ?? 0, this.global.waitFor(1));
    if (ms > 0) this.stats.refused++;
    return Math.ceil(Math.round(ms) / 1000); // rounded to the ms first: 1000.0000002 ms is 1 s
  }

  /** A wrong token was presented from this address. */
  failed(addr: string | undefined): void {
    this.stats.failures++;
    const key = addressKey(addr);
    let b = this.byAddress.get(key);
    if (!b) {
      if (this.byAddress.size >= this.limits.maxAddresses) this.forgetFull();
      this.byAddress.set(key, (b = new TokenBucket(this.limits.perAddress, this.now)));
    }
    b.take(1);
    this.global.take(1);
  }

  private forgetFull(): void {
    for (const [k, b] of this.byAddress) if (b.level >= b.rate.burst) this.byAddress.delete(k);
    // Still full of recent guessers: forget the oldest (Map keeps insertion order).
    while (this.byAddress.size >= this.limits.maxAddresses) this.byAddress.delete(this.byAddress.keys().next().value as string);
  }
}
