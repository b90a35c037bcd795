// load-server-child.ts: the real server (engine, sweep at start) in its own process for the load and fault benches;
// reports the start-up sweep and readiness as JSON lines on stdout, so a driver can kill -9 it and time a restart.
import { createSandbox, sweep, type SandboxError } from '../../server/engine/index.ts';
import type { SweepReport } from '../../server/engine/sweep.ts';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { ServerConfig } from '../../server/web/config.ts';
import { startServer } from '../../server/root/compose.ts';

const emit = (ev: object) => process.stdout.write(`${JSON.stringify(ev)}\n`);
const overrides = JSON.parse(process.env.BOXLAB_LOAD_CONFIG ?? '{}') as Partial<ServerConfig>;
const heartbeatMs = Number(process.env.BOXLAB_LOAD_HEARTBEAT_MS) || undefined;
const t0 = performance.now();
// Event-loop delay: every keystroke's echo waits at least this long in the server (10 ms sampling resolution).
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();

/** Box id and uid range of a sandbox's stage events (the driver checks each for leftovers at the end). */
const uidBase = (events: readonly { stage: string; detail?: string }[]) =>
  Number(/uid range (\d+)-/.exec(events.find((e) => e.stage === 'prepare_state')?.detail ?? '')?.[1] ?? NaN) || null;

const server = await startServer({
  config: { port: 0, host: '127.0.0.1', staticDir: '/nonexistent/out', ...overrides },
  heartbeatMs,
  // The engine itself; every box made (or failed) is announced, so no leak check depends on what clients saw.
  createSandbox: async (config, opts) => {
    const seen: { stage: string; detail?: string }[] = [];
    try {
      const box = await createSandbox(config, { onStage: (e) => (seen.push(e), opts?.onStage?.(e)) });
      emit({ ev: 'box', id: box.id, uidBase: uidBase(box.events) });
      return box;
    } catch (err) {
      const id = (err as SandboxError).sandboxId;
      if (id) emit({ ev: 'box', id, uidBase: uidBase(seen), failed: true });
      throw err;
    }
  },
  // The engine's own sweep, timed and reported in full (startServer logs only a count).
  sweep: async () => {
    const ts = performance.now();
    const report: SweepReport = await sweep();
    emit({ ev: 'swept', ms: performance.now() - ts, report });
    return report;
  },
  log: (line) => emit({ ev: 'log', line }),
});
emit({ ev: 'listening', url: server.url, pid: process.pid, startMs: performance.now() - t0 });

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  const ts = performance.now();
  server.close().then(
    () => {
      emit({ ev: 'stopped', ms: performance.now() - ts });
      process.exit(0);
    },
    (err: Error) => {
      emit({ ev: 'log', line: `close failed: ${err.message}` });
      process.exit(1);
    },
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The driver's end of stdin closes when the driver dies: never outlive it (bench runs must stop by themselves).
// A "mem" line asks for memory after a full GC (started with --expose-gc): a leak survives it, lazy GC does not.
// A "loop" line asks for the event-loop delay since the last one (ms).
process.stdin.setEncoding('utf8').on('data', (d: string) => {
  if (d.includes('loop')) {
    const ms = (ns: number) => ns / 1e6;
    emit({ ev: 'loop', p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max), count: loop.count });
    loop.reset();
  }
  if (!d.includes('mem')) return;
  (globalThis as { gc?: () => void }).gc?.();
  emit({ ev: 'mem', ...process.memoryUsage(), sessions: server.manager.size });
});
process.stdin.on('end', stop).on('error', stop);
