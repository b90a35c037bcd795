// stall-watch.ts: diagnosis preload for a server process (`node --import ./bench/lib/stall-watch.ts ...`): every event-loop
// stall over $BOXLAB_STALL_MS (default 30) and every GC pause, with CLOCK_MONOTONIC µs timestamps (the clock of a
// --cpu-prof profile), appended as JSON lines to $BOXLAB_STALL_LOG, so a long tick can be matched to what ran in it.
import { appendFileSync, openSync, readSync } from 'node:fs';
import { PerformanceObserver, constants } from 'node:perf_hooks';

const out = process.env.BOXLAB_STALL_LOG;
if (out) {
  const threshold = Number(process.env.BOXLAB_STALL_MS) || 30;
  const us = () => Number(process.hrtime.bigint() / 1000n);
  // performance.now() → monotonic µs: the offset between the two clocks, taken once.
  const offset = us() - performance.now() * 1000;
  const lines: string[] = [];
  const flush = () => lines.length && appendFileSync(out, lines.splice(0).join(''));
  const KIND: Record<number, string> = {
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
  };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = KIND[(e as unknown as { detail: { kind: number } }).detail?.kind] ?? 'gc';
      if (e.duration >= 1)
        lines.push(`${JSON.stringify({ ev: 'gc', kind, startUs: Math.round(offset + e.startTime * 1000), ms: +e.duration.toFixed(2) })}\n`);
    }
  }).observe({ entryTypes: ['gc'] });
  // The main thread's schedstat (on-CPU ns, runqueue-wait ns, timeslices; Documentation/scheduler/sched-stats.rst):
  // a stall spent waiting for a CPU is the machine's; one spent on the CPU is ours; neither: blocked in the kernel.
  const fd = openSync('/proc/thread-self/schedstat', 'r');
  const buf = Buffer.alloc(128);
  /** /proc/thread-self/schedstat: ns on a CPU, ns waiting for one, timeslices (missing fields read as 0). */
  const sched = (): [number, number, number] => {
    const [run = 0, wait = 0, slices = 0] = buf
      .toString('latin1', 0, readSync(fd, buf, 0, 128, 0))
      .trim()
      .split(' ')
      .map(Number);
    return [run, wait, slices];
  };
  let last = us();
  let lastSched = sched();
  setInterval(() => {
    const now = us();
    const s = sched();
    const gapMs = (now - last) / 1000;
    if (gapMs - 5 > threshold) {
      const cpuMs = +((s[0] - lastSched[0]) / 1e6).toFixed(1);
      const waitMs = +((s[1] - lastSched[1]) / 1e6).toFixed(1);
      lines.push(
        `${JSON.stringify({ ev: 'stall', fromUs: last, toUs: now, ms: +(gapMs - 5).toFixed(1), cpuMs, waitMs, slices: s[2] - lastSched[2] })}\n`,
      );
    }
    last = now;
    lastSched = s;
  }, 5);
  setInterval(flush, 1000).unref();
  process.on('exit', flush);
}
