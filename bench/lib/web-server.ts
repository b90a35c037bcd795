// web-server.ts: starts bench/lib/web-server-child.ts (the real server) as a child process and talks to it over IPC.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerConfig } from '../../server/web/config.ts';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'web-server-child.ts');

export interface ChildStats {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  cpuUserUs: number;
  cpuSystemUs: number;
  sessions: number;
}

export interface BenchServer {
  url: string;
  pid: number;
  stats(): Promise<ChildStats>;
  flow(): Promise<{ id: string; socket: Record<string, number>; mirror: Record<string, number> }[]>;
  /** cgroup CPU of every live sandbox: usageUsec, nrThrottled, throttledUsec. */
  boxes(): Promise<{ id: string; usageUsec: number; quotaFraction: number; nrThrottled: number; throttledUsec: number }[]>;
  /** Host pids of every live sandbox: its namespaced parent and its PID 1. */
  boxPids(): Promise<{ id: string; namespacedParent: number; init: number }[]>;
  destroyAll(): Promise<void>;
  /** Wall-clock marks (epoch ms) of the last Start in the server, when it runs with BOXLAB_BENCH_MARKS=1 (else {}). */
  marks(): Promise<Record<string, number>>;
  /** A full GC in the server when it runs with --expose-gc (else a no-op), then its stats. */
  gc(): Promise<ChildStats>;
  close(): Promise<void>;
  /** VmRSS and VmHWM of the server process from /proc (kB), without a round trip through its event loop. */
  procMem(): { rssKiB: number; hwmKiB: number };
}

const staticOverride = () => (process.env.BOXLAB_BENCH_STATIC ? { staticDir: process.env.BOXLAB_BENCH_STATIC } : {});

export async function startBenchServer(config: Partial<ServerConfig> = {}, nodeArgs: string[] = []): Promise<BenchServer> {
  const child: ChildProcess = fork(CHILD, [], {
    execArgv: ['--import', 'tsx', ...nodeArgs],
    // BOXLAB_BENCH_STATIC: serve another front-end build (a candidate change) instead of the repo's out/.
    env: { ...process.env, BOXLAB_BENCH_CONFIG: JSON.stringify({ maxPerClient: 50, ...staticOverride(), ...config }) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let next = 1;
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  const ready = new Promise<{ url: string; pid: number }>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code} before it was ready`)));
    child.on('message', (m: { ready?: boolean; url: string; pid: number; id?: number; ok?: boolean; value?: unknown; error?: string }) => {
      if (m.ready) return resolve(m);
      const w = m.id !== undefined ? waiting.get(m.id) : undefined;
      if (!w) return;
      waiting.delete(m.id!);
      if (m.ok) w.resolve(m.value);
      else w.reject(new Error(m.error));
    });
  });
  const { url, pid } = await ready;
  const call = <T>(op: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = next++;
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ id, op });
    });
  let closed: Promise<void> | null = null;
  return {
    url,
    pid,
    stats: () => call<ChildStats>('stats'),
    flow: () => call('flow'),
    boxes: () => call('boxes'),
    boxPids: () => call('boxPids'),
    destroyAll: () => call<void>('destroyAll'),
    marks: () => call<Record<string, number>>('marks'),
    gc: () => call<ChildStats>('gc'),
    close: () =>
      (closed ??= (async () => {
        if (child.exitCode !== null) return;
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        await call<void>('close').catch(() => {});
        await exited;
      })()),
    procMem: () => {
      const s = readFileSync(`/proc/${pid}/status`, 'utf8');
      return { rssKiB: Number(/VmRSS:\s+(\d+)/.exec(s)?.[1]), hwmKiB: Number(/VmHWM:\s+(\d+)/.exec(s)?.[1]) };
    },
  };
}

/**
 * The server of another checkout (e.g. main's, with its built out/) for a before/after in one run; a directory without
 * a bench/ is taken as a front-end build alone, served by this checkout's server.
 */
export async function startBase(dir: string, warmPool: number): Promise<BenchServer> {
  const other = join(dir, 'bench', 'lib', 'web-server.ts');
  if (!existsSync(other)) return startBenchServer({ warmPool, staticDir: dir });
  const mod = (await import(other)) as { startBenchServer: typeof startBenchServer };
  return mod.startBenchServer({ warmPool, staticDir: join(dir, 'out') });
}
