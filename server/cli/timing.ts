// timing.ts: `BOXLAB_TIMING=1 boxlab run ...` prints where the whole process's time went (one JSON line on stderr),
// from performance marks that bin/boxlab.js and run.ts set; bench/sections/cli.ts reads it.

import { performance } from 'node:perf_hooks';

/** A named point in time (ms since the process started); free enough to stay on the hot path. */
export function mark(name: string): void {
  if (process.env.BOXLAB_TIMING) performance.mark(name);
}

/** Node's own boot (to the end of its bootstrap), then each mark as the time since the one before. */
export function reportTiming(): void {
  if (!process.env.BOXLAB_TIMING) return;
  const boot = performance.nodeTiming.bootstrapComplete;
  const phases: Record<string, number> = { 'node-boot': round(boot) };
  let prev = boot;
  for (const m of performance.getEntriesByType('mark')) {
    phases[m.name] = round(m.startTime - prev);
    prev = m.startTime;
  }
  phases.total = round(performance.now());
  // CPU this process used (user + system): what the machine's load multiplies into the wall-clock times above.
  const cpu = process.cpuUsage();
  phases.cpu = round((cpu.user + cpu.system) / 1000);
  process.stderr.write(`boxlab-timing ${JSON.stringify(phases)}\n`);
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
