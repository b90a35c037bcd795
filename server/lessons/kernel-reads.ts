// Reads behind the checks: matching box processes, listening ports, lo counters, SysV segments, pids.events.
import type { BoxProbe, BoxProc } from './probe.ts';
/** What a process check matches on: argv substring, exact name, state letter, orphaned. */
export interface ProcMatch {
  argv?: string;
  name?: string;
  state?: string;
  orphan?: boolean;
}

export function matching(procs: BoxProc[], p: ProcMatch): BoxProc[] {
  const alive = new Set(procs.map((x) => x.hostPid));
  return procs.filter(
    (x) =>
      (p.name === undefined || x.name === p.name) &&
      (p.argv === undefined || x.argv.join(' ').includes(p.argv)) &&
      // A zombie is not running: it only matches when state Z is asked for (ash reaps its jobs at the next prompt).
      (p.state === undefined ? x.state !== 'Z' : x.state === p.state) &&
      (!p.orphan || (x.boxPpid === 1 && x.pgrpHost !== x.hostPid && !alive.has(x.pgrpHost))),
  );
}

/** 'zombie "sleep"', 'orphaned "sleep 1002"', '"yes"'; with `article`, 'a zombie "sleep"'. */
export function procLabel(p: ProcMatch, article = false): string {
  const what = p.argv ? `"${p.argv}"` : p.name ? `"${p.name}"` : 'process';
  const adj = p.state === 'Z' ? 'zombie ' : p.orphan ? 'orphaned ' : '';
  const a = article && (adj || (!p.argv && !p.name)) ? (adj.startsWith('o') ? 'an ' : 'a ') : '';
  return `${a}${adj}${what}`;
}

export async function rxPackets(probe: BoxProbe, dev: string): Promise<number | null> {
  const line = probe
    .procText('net/dev')
    .split('\n')
    .find((l) => l.trim().startsWith(`${dev}:`));
  return line ? Number(line.split(':')[1]!.trim().split(/\s+/)[1]) : null;
}

/** LISTEN ports of the box's network namespace, or (host: true) of the server's own, which is the host's. */
export function listeningPorts(probe: BoxProbe, host = false): Set<number> {
  const ports = new Set<number>();
  for (const f of ['net/tcp', 'net/tcp6']) {
    let text = '';
    try {
      text = host ? probe.hostText(`/proc/${f}`) : probe.procText(f);
    } catch {
      continue; // no IPv6 in this kernel
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === '0A') ports.add(parseInt(cols[1]!.split(':').at(-1)!, 16)); // 0A = TCP_LISTEN
    }
  }
  return ports;
}

export async function shmSegments(probe: BoxProbe): Promise<{ key: string; size: number; cpid: number; lpid: number }[]> {
  const text = await probe.inNamespace('ipc', ['cat', '/proc/sysvipc/shm']);
  return text
    .trim()
    .split('\n')
    .slice(1)
    .filter(Boolean)
    .map((l) => {
      const c = l.trim().split(/\s+/);
      return { key: c[0]!, size: Number(c[3]), cpid: Number(c[4]), lpid: Number(c[5]) };
    });
}

/**
 * Forks refused at a pids.max in the box. Where the kernel counts one depends on its version: before Linux 6.12 in the
 * forking task's cgroup, from 6.12 in the cgroup whose limit was hit and its ancestors (pids.events, "cgroup/pids:
 * Make event counters hierarchical"; the old way with the pids_localevents mount option). In a plain box both are the
 * box's cgroup. In a lab box the tasks live in init/ or the learner's own cgroups below the box, which holds the
 * limit: so the larger of the box's own count and the sum over its subtree, right on either kernel.
 */
export async function pidsMaxEvents(probe: BoxProbe): Promise<number> {
  const own = (await probe.stats()).pids.refused ?? 0;
  const below = (await probe.cgroupSubtree()).reduce((n, c) => n + c.pidsRefused, 0);
  return Math.max(own, below);
}
