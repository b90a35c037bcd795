// node-flags.ts: the V8 flags the server runs with (`npm start`, the systemd unit in README.md, every bench server).
// V8 reads them at start only: `v8.setFlagsFromString('--single-threaded-gc')` later aborts the process (measured).

/**
 * - `--max-semi-space-size=1`: a 1 MiB young generation, so a terminal flood does not grow the heap by ~40 MB that
 *   is never given back (docs/performance.md, "Terminal memory").
 * - `--single-threaded-gc`: V8's parallel scavenges and compactions make the main thread wait for helper threads;
 *   on a busy machine those wait for a CPU, and a 1 MiB scavenge that costs 1 ms held the event loop 17-106 ms.
 * - `--no-memory-reducer`: the memory reducer runs compacting full GCs ~8 s after a burst of allocation (sessions
 *   created): pauses of 40-95 ms with ten learners typing, for ~12 MB of heap given back (docs/reliability.md,
 *   "Event-loop stalls").
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--single-threaded-gc', '--no-memory-reducer'];

/** The flags this process was started without (the server logs them: it works, with longer stalls). */
export function missingNodeFlags(execArgv: readonly string[] = process.execArgv): string[] {
  return SERVER_NODE_FLAGS.filter((f) => !execArgv.includes(f));
}
