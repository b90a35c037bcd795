// The real server in a process of its own for a room test (its event loop not shared with the test's protocol
// clients and Playwright): started with the test's options, it answers state queries over the IPC channel.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface ServerSession {
  id: string;
  addr: string;
  member: boolean;
  box: { id: string; pids: number[] } | null;
}
export interface ServerState {
  sessions: ServerSession[];
  classes: { code: string; lessons: string[]; memory: string; pids: number; cap: number }[];
}
export interface ServerProcess {
  port: number;
  spki: string;
  state(): Promise<ServerState>;
  /** Closes the server (every box destroyed) and waits for the process to exit; safe to call twice. */
  close(): Promise<void>;
}

const HERE = fileURLToPath(import.meta.url);

/** opts: what startServer takes, JSON-able (no functions: log is dropped). */
export function startServerProcess(opts: Record<string, unknown>, timeoutMs = 60_000): Promise<ServerProcess> {
  const child: ChildProcess = fork(HERE, ['--serve'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let next = 0;
  const waiting = new Map<number, (v: unknown) => void>();
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.on('message', (m: { id?: number; value?: unknown }) => {
    if (m.id !== undefined) waiting.get(m.id)?.(m.value), waiting.delete(m.id);
  });
  const ask = <T>(type: string): Promise<T> =>
    new Promise((resolve, reject) => {
      if (!child.connected) return reject(new Error('the server process is gone'));
      const id = next++;
      waiting.set(id, resolve as (v: unknown) => void);
      child.send({ id, type });
    });
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      const kill = setTimeout(() => child.kill('SIGKILL'), 30_000);
      if (child.connected) await ask('close').catch(() => {});
      await exited;
      clearTimeout(kill);
    })());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (child.kill('SIGKILL'), reject(new Error('the server process did not start'))), timeoutMs);
    child.once('exit', (code) => reject(new Error(`the server process exited (${code}) before it listened`)));
    child.once('message', (m: { ready?: { port: number; spki: string }; error?: string }) => {
      clearTimeout(timer);
      if (!m.ready) return void close().then(() => reject(new Error(`server: ${m.error}`)));
      resolve({ ...m.ready, state: () => ask<ServerState>('state'), close });
    });
    child.send({ type: 'start', opts });
  });
}

async function serve(): Promise<void> {
  const { startServer } = await import('../../server/root/compose.ts');
  let srv: Awaited<ReturnType<typeof startServer>> | null = null;
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => (closing ??= srv?.close() ?? Promise.resolve());
  process.on('message', async (m: { id?: number; type: string; opts?: Record<string, unknown> }) => {
    if (m.type === 'start') {
      try {
        srv = await startServer({ ...(m.opts as Parameters<typeof startServer>[0]), log: () => {} });
        process.send?.({ ready: { port: srv.port, spki: srv.tls?.spki ?? '' } });
      } catch (err) {
        process.send?.({ error: (err as Error).message });
      }
    } else if (m.type === 'state' && srv) {
      const s = srv;
      const value: ServerState = {
        sessions: s.manager.sessions().map(({ session, addr }) => ({
          id: session.id,
          addr: addr.replace(/^::ffff:/, ''),
          member: !!s.course.classes.memberOf(session.id),
          box: session.sandbox
            ? { id: session.sandbox.id, pids: [session.sandbox.pids.namespacedParent, session.sandbox.pids.init] }
            : null,
        })),
        classes: (await s.course.classes.list()).active.map((c) => ({
          code: c.code,
          lessons: c.lessons,
          memory: c.limits.memory,
          pids: c.limits.pids,
          cap: c.cap,
        })),
      };
      process.send?.({ id: m.id, value });
    } else if (m.type === 'close') {
      await close();
      process.send?.({ id: m.id, value: true }, () => process.disconnect());
    }
  });
  // The test process died without closing: close (every box destroyed) rather than run on.
  process.on('disconnect', () => void close().then(() => process.exit(0)));
}

if (process.argv.includes('--serve')) void serve();
