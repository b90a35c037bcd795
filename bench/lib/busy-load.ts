// busy-load.ts: a bounded background CPU load for the "loaded" benchmark runs (one busy shell loop per core, each
// killed by its own pid, and by `timeout` should the bench die first), and the machine's CPU use over a span.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface BusyLoad {
  workers: number;
  stop(): Promise<void>;
}

export function startBusyLoad(workers = os.cpus().length, maxSeconds = 900): BusyLoad {
  const kids: ChildProcess[] = [];
  for (let i = 0; i < workers; i++) {
    kids.push(spawn('timeout', [String(maxSeconds), 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore' }));
  }
  return {
    workers,
    stop: async () => {
      await Promise.all(
        kids.map((k) => {
          if (k.exitCode !== null || k.signalCode !== null) return;
          const gone = new Promise<void>((r) => k.once('exit', () => r()));
          k.kill('SIGTERM'); // timeout(1) passes SIGTERM on to its child
          return gone;
        }),
      );
    },
  };
}

/** Busy and total jiffies of all CPUs (/proc/stat, proc(5)). */
function cpuTimes(): { busy: number; total: number } {
  const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

/** Starts a span; the returned function gives the fraction of all CPUs busy during it (0..1) and the load averages. */
export function cpuSpan(): () => { busy: number; loadavg: number[] } {
  const a = cpuTimes();
  return () => {
    const b = cpuTimes();
    return { busy: (b.busy - a.busy) / Math.max(1, b.total - a.total), loadavg: os.loadavg() };
  };
}
