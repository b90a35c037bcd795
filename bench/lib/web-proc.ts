// web-proc.ts: CPU time of this process's descendants from /proc (Chromium's renderer, GPU and browser processes),
// so a throughput figure comes with what it cost each party, independent of how loaded the machine was.
import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on Linux (proc(5): utime/stime are in clock ticks)

export type CpuByKind = Record<string, number>;

interface ProcInfo {
  pid: number;
  ppid: number;
  cpuMs: number;
  kind: string;
}

function readProc(pid: number): ProcInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may hold spaces and parentheses: the fields start after the last ')' (proc(5)).
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(f[1]);
    const cpuMs = (Number(f[11]) + Number(f[12])) * TICK_MS;
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const type = /--type=([a-z-]+)/.exec(cmd)?.[1];
    const kind = /chrom/.test(cmd.split('\0')[0] ?? '')
      ? `chromium-${type ?? 'browser'}`
      : ((cmd.split('\0')[0] ?? '').split('/').pop() ?? '?');
    return { pid, ppid, cpuMs, kind };
  } catch {
    return null; // exited meanwhile
  }
}

/** Every live descendant of root (not root itself), except the subtrees of `exclude`. */
export function descendants(root: number, exclude: readonly number[] = []): ProcInfo[] {
  const all = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map((d) => readProc(Number(d)))
    .filter((p): p is ProcInfo => p !== null);
  const children = new Map<number, ProcInfo[]>();
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const out: ProcInfo[] = [];
  const walk = (pid: number) => {
    for (const c of children.get(pid) ?? []) {
      if (exclude.includes(c.pid)) continue;
      out.push(c);
      walk(c.pid);
    }
  };
  walk(root);
  return out;
}

/** CPU ms per pid of the descendants, for diffing two moments. */
export function cpuSnapshot(root: number, exclude: readonly number[] = []): Map<number, ProcInfo> {
  return new Map(descendants(root, exclude).map((p) => [p.pid, p]));
}

/** CPU ms spent between two snapshots, summed by process kind (chromium-renderer, chromium-gpu-process, ...). */
export function cpuDiff(before: Map<number, ProcInfo>, after: Map<number, ProcInfo>): CpuByKind {
  const out: CpuByKind = {};
  for (const [pid, p] of after) {
    const d = p.cpuMs - (before.get(pid)?.cpuMs ?? 0);
    if (d > 0) out[p.kind] = (out[p.kind] ?? 0) + d;
  }
  return out;
}
