// ttyd-peer.ts: runs ttyd (a C web terminal, the peer in bench/sections/terminal-peers.ts) on loopback with the
// same busybox ash the boxes run, jailed by bubblewrap into the same image so the prompt and line editing match.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** BOXLAB_TTYD, else ../shared/peers/ttyd beside the checkout (or two levels up, from a worktree), else PATH. */
export function findTtyd(): string | null {
  const cands = [process.env.BOXLAB_TTYD, join(ROOT, '..', 'shared', 'peers', 'ttyd'), join(ROOT, '..', '..', 'shared', 'peers', 'ttyd')];
  for (const c of cands) if (c && existsSync(c)) return c;
  const w = spawnSync('sh', ['-c', 'command -v ttyd'], { encoding: 'utf8' });
  return w.status === 0 ? w.stdout.trim() : null;
}

/** The command ttyd runs per connection: the image's /bin/sh -l under bwrap (own pid and uts ns), else host busybox. */
export function peerShell(imagePath: string): { argv: string[]; how: string } {
  const hasBwrap = spawnSync('sh', ['-c', 'command -v bwrap'], { encoding: 'utf8' }).status === 0;
  if (process.env.BOXLAB_BENCH_TTYD_SHELL !== 'host' && hasBwrap && existsSync(join(imagePath, 'bin', 'busybox'))) {
    return {
      argv: [
        'bwrap',
        '--ro-bind',
        imagePath,
        '/',
        '--proc',
        '/proc',
        '--dev',
        '/dev',
        '--tmpfs',
        '/tmp',
        '--unshare-pid',
        '--unshare-uts',
        '--hostname',
        'box',
        '--chdir',
        '/root',
        '--setenv',
        'HOME',
        '/root',
        '/bin/sh',
        '-l',
      ],
      how: `bwrap into ${imagePath}, /bin/sh -l (busybox ash)`,
    };
  }
  return { argv: ['/bin/busybox', 'sh', '-l'], how: 'host /bin/busybox sh -l (no bwrap or image)' };
}

export interface TtydPeer {
  url: string;
  pid: number;
  version: string;
  shell: string;
  rssKiB(): number;
  /** The last 4000 characters ttyd logged (connections, closes, spawned shells). */
  log(): string;
  close(): Promise<void>;
}

export async function startTtyd(bin: string, port: number, imagePath: string): Promise<TtydPeer> {
  const version = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();
  const sh = peerShell(imagePath);
  // -W writable, DOM renderer (no GPU here, as Boxlab picks DOM without one), no leave prompt, loopback only.
  const child: ChildProcess = spawn(
    bin,
    ['-p', String(port), '-i', '127.0.0.1', '-W', '-t', 'rendererType=dom', '-t', 'disableLeaveAlert=true', ...sh.argv],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let log = '';
  child.stderr!.on('data', (b: Buffer) => (log = (log + b.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`ttyd exited ${child.exitCode}: ${log}`);
    try {
      if ((await fetch(url)).ok) break;
    } catch {
      /* not listening yet */
    }
    if (i > 100) throw new Error(`ttyd did not listen on ${url}: ${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    pid: child.pid!,
    version,
    shell: sh.how,
    log: () => log,
    rssKiB: () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]),
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Descendants of pid (from /proc/<pid>/task/<pid>/children), recursively. */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  const walk = (p: number) => {
    let kids: number[] = [];
    try {
      kids = readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return;
    }
    for (const k of kids) {
      out.push(k);
      walk(k);
    }
  };
  walk(pid);
  return out;
}

/** Sum of Pss (proportional: shared pages split between sharers) of the given pids, KiB, from smaps_rollup. */
export function pssKiB(pids: number[]): number {
  let sum = 0;
  for (const p of pids) {
    try {
      sum += Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
    } catch {
      /* exited */
    }
  }
  return sum;
}
