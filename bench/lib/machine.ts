// machine.ts: the facts a benchmark number depends on (CPU, kernel, cgroup layout, tool versions), for the report.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { toolVersion } from './competitors.ts';

export interface MachineFacts {
  date: string;
  host: string;
  kernel: string;
  cpu: string;
  cpus: number;
  memGiB: number;
  loadavg: number[];
  node: string;
  /** Mount options of every cgroup mount (favordynmods changes the attach cost, see docs/performance.md). */
  cgroupMounts: string[];
  /** The kernel's "per threadgroup rwsem can't be disabled" warning: favordynmods was on once since boot. */
  perThreadgroupRwsem: boolean | null;
  bwrap: string | null;
  runc: string | null;
}

function readOr(path: string, fallback = ''): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

export function machineFacts(): MachineFacts {
  const cgroupMounts = readOr('/proc/self/mountinfo')
    .split('\n')
    .filter((l) => / - cgroup2? /.test(l))
    .map((l) => {
      const f = l.split(' ');
      const sep = f.indexOf('-');
      return `${f[4]} ${f[sep + 1]} ${f[sep + 3] ?? ''}`;
    });
  return {
    date: new Date().toISOString(),
    host: os.hostname(),
    kernel: `${os.type()} ${os.release()}`,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cpus: os.cpus().length,
    memGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
    node: process.version,
    cgroupMounts,
    perThreadgroupRwsem: kernelLogMentions(/per threadgroup rwsem mechanism can't be disabled/),
    bwrap: toolVersion('bwrap'),
    runc: toolVersion('runc'),
  };
}

/** Whether the kernel log (readable by root through /dev/kmsg) has a line matching re; null when unreadable. */
function kernelLogMentions(re: RegExp): boolean | null {
  const r = spawnSync('dmesg', [], { encoding: 'utf8' });
  return r.status === 0 ? re.test(r.stdout) : null;
}
