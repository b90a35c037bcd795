// web-server-child.ts: the real playground server (real engine) in its own process for the web benches, driven over IPC,
// so its RSS and CPU are measured apart from the bench driver and Chromium's Playwright pipe.
import { startServer } from '../../server/root/compose.ts';
import type { ServerConfig } from '../../server/web/config.ts';

export type ChildRequest =
  | { id: number; op: 'stats' }
  | { id: number; op: 'destroyAll' }
  | { id: number; op: 'flow' }
  | { id: number; op: 'boxes' }
  | { id: number; op: 'boxPids' }
  | { id: number; op: 'gc' }
  | { id: number; op: 'marks' }
  | { id: number; op: 'close' };

const overrides = JSON.parse(process.env.BOXLAB_BENCH_CONFIG ?? '{}') as Partial<ServerConfig>;
// BOXLAB_BENCH_FLOW: other watermarks for the server's flow control ({highWater, lowWater}), to compare them.
const flow = process.env.BOXLAB_BENCH_FLOW ? JSON.parse(process.env.BOXLAB_BENCH_FLOW) : undefined;
const server = await startServer({ config: { port: 0, host: '127.0.0.1', ...overrides }, flow, log: () => {} });
const send = (m: object) => process.send!(m);
// BOXLAB_BENCH_MARKS=1: wall-clock marks of each Start in this process (bench/start-marks.ts sets them beside the page's).
const marks = process.env.BOXLAB_BENCH_MARKS ? await import('./server-marks.ts') : null;
marks?.installServerMarks(server.manager);

function stats() {
  const mem = process.memoryUsage();
  const cpu = process.cpuUsage();
  return {
    rss: mem.rss,
    heapTotal: mem.heapTotal,
    heapUsed: mem.heapUsed,
    external: mem.external,
    arrayBuffers: mem.arrayBuffers,
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    sessions: server.manager.size,
  };
}

process.on('message', async (m: ChildRequest) => {
  try {
    switch (m.op) {
      case 'stats':
        return send({ id: m.id, ok: true, value: stats() });
      case 'flow':
        // Flow-control counters of every live session (pauses/resumes show the ack cadence at work).
        return send({
          id: m.id,
          ok: true,
          value: server.manager
            .sessions()
            .map((i) => ({ id: i.session.id, socket: i.session.socketFlow.stats, mirror: i.session.mirrorFlow.stats })),
        });
      case 'boxes':
        // cgroup CPU of each live sandbox (usage, throttling): what the box itself spent producing the output.
        return send({
          id: m.id,
          ok: true,
          value: await Promise.all(
            server.manager
              .sessions()
              .filter((i) => i.session.sandbox)
              .map(async (i) => ({ id: i.session.sandbox!.id, ...(await i.session.sandbox!.stats()).cpu })),
          ),
        });
      case 'boxPids':
        // Host pids of each box's namespaced parent and PID 1 (the memory bench reads their PSS and cgroup).
        return send({
          id: m.id,
          ok: true,
          value: server.manager
            .sessions()
            .filter((i) => i.session.sandbox)
            .map((i) => ({ id: i.session.sandbox!.id, ...i.session.sandbox!.pids })),
        });
      case 'gc':
        // A full collection (the memory benches start the server with --expose-gc), then what the heap holds.
        (globalThis as { gc?: () => void }).gc?.();
        return send({ id: m.id, ok: true, value: stats() });
      case 'marks':
        return send({ id: m.id, ok: true, value: marks?.takeMarks() ?? {} });
      case 'destroyAll':
        await Promise.all(server.manager.sessions().map((i) => server.manager.destroy(i.session)));
        return send({ id: m.id, ok: true, value: null });
      case 'close':
        await server.close();
        send({ id: m.id, ok: true, value: null });
        return process.exit(0);
    }
  } catch (err) {
    send({ id: m.id, ok: false, error: (err as Error).message });
  }
});
// The parent died or the bench was interrupted: clean up every sandbox rather than leave them behind.
const quit = () => void server.close().finally(() => process.exit(0));
process.on('disconnect', quit);
process.on('SIGTERM', quit);
process.on('SIGINT', quit);
send({ ready: true, url: server.url, pid: process.pid });
