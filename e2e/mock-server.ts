// The real web server (protocol, mirror, flow control) over the test FakeSandbox shell: for UI work without root or an engine.
// Run alone: `node --import tsx e2e/mock-server.ts [port]` (serves out/, so build the front end first).
import { fileURLToPath } from 'node:url';
import { startServer, type RunningServer } from '../server/root/compose.ts';
import { fakeFactory } from '../server/engine/testing/fake-sandbox.ts';
import type { StageName } from '../server/engine/types.ts';
import type { CourseOptions } from '../server/classroom/course.ts';

export interface MockOptions {
  port?: number;
  /** Delay between creation stages, so the stage list visibly fills in. */
  stageDelayMs?: number;
  maxSessions?: number;
  /** Make every sandbox fail at this stage (to see errors in the stage list). */
  failAt?: StageName;
  /** Lessons/progress options (e.g. a temporary database). */
  course?: CourseOptions;
}

export async function startMockServer(opts: MockOptions = {}): Promise<RunningServer & { made: () => number }> {
  const fake = fakeFactory({ stageDelayMs: opts.stageDelayMs ?? 8 });
  const server = await startServer({
    config: {
      port: opts.port ?? 0,
      host: '127.0.0.1',
      staticDir: fileURLToPath(new URL('../out', import.meta.url)),
      imagePath: '/nonexistent-fake-image',
      ...(opts.maxSessions ? { maxSessions: opts.maxSessions, maxPerClient: opts.maxSessions } : {}),
    },
    createSandbox: (config, o) => fake.create(opts.failAt ? { ...config, failAt: opts.failAt } : config, o),
    sweep: async () => {},
    cgroupVersion: 1,
    course: opts.course,
    log: () => {},
  });
  return Object.assign(server, { made: () => fake.made.length });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const server = await startMockServer({
    port: Number(process.argv[2] ?? 3100),
    maxSessions: Number(process.env.BOXLAB_MAX_SESSIONS ?? 50),
  });
  console.log(`mock boxlab on ${server.url} (fake shell: echo, hostname, stty size, yes, seq N, exit)`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
