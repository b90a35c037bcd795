// Test/bench preload for a server process (`node --import ./server/web/testing/loop-probe.ts ...`): its own event-loop delay
// (monitorEventLoopDelay, 10 ms resolution); SIGWINCH starts a window, SIGUSR1 writes the window's figures (ms) as
// JSON to $BOXLAB_LOOP_PROBE. Tells "the server's loop was late" apart from "the machine was late".
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const out = process.env.BOXLAB_LOOP_PROBE;
if (out) {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  // Not SIGUSR2: that drains the server (docs/cluster.md), and the drain outlives the test.
  process.on('SIGWINCH', () => h.reset());
  process.on('SIGUSR1', () => {
    const ms = (ns: number) => ns / 1e6;
    // The histogram counts how late each 10 ms tick ran, the tick included: subtract it.
    const late = (ns: number) => Math.max(0, ms(ns) - 10);
    writeFileSync(out, JSON.stringify({ count: h.count, p50: late(h.percentile(50)), p99: late(h.percentile(99)), max: late(h.max) }));
  });
}
