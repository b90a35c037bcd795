// load-typist.ts: people typing at human speed into their shells (echo latency per keystroke, per phase), and the
// helpers every load scenario shares: a bounded worker pool, phase-tagged samples, percentiles of a phase.
import { summarize, type Summary } from './stats.ts';
import type { LoadClient } from './load-client.ts';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Echo samples tagged with the phase they were taken in (phases change while typists keep typing). */
export class EchoLog {
  phase = 'base';
  /** t: ms since the log was made (for plots). */
  readonly samples: { phase: string; ms: number; t: number }[] = [];
  private readonly t0 = performance.now();
  /** Keystrokes whose echo did not come back within the key timeout. */
  readonly lost = new Map<string, number>();
  commands = 0;

  add(ms: number): void {
    if (Number.isNaN(ms)) this.lost.set(this.phase, (this.lost.get(this.phase) ?? 0) + 1);
    else this.samples.push({ phase: this.phase, ms, t: performance.now() - this.t0 });
  }

  of(phase: string): Summary & { lost: number } {
    return { ...summarize(this.samples.filter((s) => s.phase === phase).map((s) => s.ms)), lost: this.lost.get(phase) ?? 0 };
  }
}

/** A small deterministic PRNG (mulberry32): runs type the same words at the same pace. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Types `echo <word>` lines, one key every 60-140 ms (a fast typist), measuring each key's echo, then Enter and the
 * next prompt; stops by itself when stop() says so (checked before every key).
 */
export async function typist(c: LoadClient, log: EchoLog, stop: () => boolean, seed: number): Promise<void> {
  const rnd = prng(seed);
  while (!stop() && !c.closed) {
    const word = Array.from({ length: 6 }, () => String.fromCharCode(97 + Math.floor(rnd() * 26))).join('');
    for (const ch of `echo ${word}`) {
      if (stop() || c.closed) return;
      log.add(await c.key(ch));
      await sleep(60 + rnd() * 80);
    }
    await c.run('', 10_000).catch(() => {});
    log.commands++;
    await sleep(100 + rnd() * 200);
  }
}

/** Runs fn over items with at most `concurrency` in flight; results in input order. */
export async function pool<T, R>(items: readonly T[], concurrency: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i); // i < items.length: checked above
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return out;
}

/** CPU use of a process over a window, as a percentage of one core. */
export function cpuPercent(a: { cpuMs: number }, b: { cpuMs: number }, wallMs: number): number {
  return wallMs > 0 ? (100 * (b.cpuMs - a.cpuMs)) / wallMs : NaN;
}

export const kib = (n: number) => `${Math.round(n).toLocaleString('en-US')} KiB`;
export const mib = (kibs: number) => (kibs / 1024).toFixed(1);

/**
 * Deterministic failures (leftovers, a dead server, hung or failed sessions, a wrong close code) fail the section
 * with its tables; latency goals do not (shared machines are noisy), they are reported against the goal instead.
 */
export function failOn(markdown: string, problems: (string | false | null | undefined)[]): string {
  const p = problems.filter((x): x is string => typeof x === 'string' && x.length > 0);
  if (p.length) throw new Error(`${markdown}\n\nFAILED: ${p.join('; ')}`);
  return markdown;
}
