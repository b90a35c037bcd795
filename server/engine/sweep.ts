// sweep.ts: after a crash (kill -9 of the server), finds what dead sandboxes left and removes it.
import { readFileSync, rmSync } from 'node:fs';
import { sweepCgroups } from './cgroups/index.ts';
import type { EngineDeps } from './deps.ts';
import { processStartTime, readRecords, releaseSlot, RUN_DIR } from './state.ts';
import { MNT_DETACH, SIGKILL } from './syscalls.ts';

export interface SweepReport {
  sandboxes: string[];
  killed: number[];
  unmounted: string[];
  cgroups: string[];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Mount points under dir, deepest first (mountinfo field 5, octal escapes decoded). */
export function mountsUnder(dir: string, mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): string[] {
  const prefix = dir.endsWith('/') ? dir : dir + '/';
  return mountinfo
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => !!m)
    .map((m) => m.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8))))
    .filter((m) => m.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
}

/**
 * Removes leftovers of sandboxes whose server is gone: processes (only when pid and start time both match the
 * record, so a reused pid is never killed), mounts under the run dir, cgroups under boxlab/, state and slots.
 */
export async function sweep(deps?: Pick<EngineDeps, 'sys'> & { runDir?: string }, onlyDeadServers = true): Promise<SweepReport> {
  const runDir = deps?.runDir ?? RUN_DIR;
  const sys = deps?.sys ?? (await import('../../native-bindings/index.ts')).realSyscalls;
  const report: SweepReport = { sandboxes: [], killed: [], unmounted: [], cgroups: [] };
  const records = readRecords(runDir).filter((r) =>
    r.serverPid === 0 ? r.ageMs > 30_000 : !onlyDeadServers || !alive(r.serverPid));
  for (const r of records) {
    for (const p of [r.init, r.namespacedParent]) {
      if (p && p.starttime && processStartTime(p.pid) === p.starttime) {
        sys.kill(p.pid, SIGKILL);
        report.killed.push(p.pid);
      }
    }
    for (const m of mountsUnder(r.dir)) {
      try {
        sys.umount2(m, MNT_DETACH);
        report.unmounted.push(m);
      } catch {
        // Already gone with a parent mount.
      }
    }
    rmSync(r.dir, { recursive: true, force: true });
    if (r.slot >= 0) releaseSlot(r.slot, runDir);
    report.sandboxes.push(r.id);
  }
  // Only cgroups of sandboxes recorded here as dead: the boxlab/ parent may be shared with other servers'
  // live sandboxes (v1 hierarchies whose own cgroup is '/'), which must never be touched.
  const dead = new Set(records.map((r) => r.id));
  // Recorded paths find boxes made under another server's cgroup subtree (its own systemd scope on v2).
  const recorded = records.flatMap((r) => Object.values(r.cgroups ?? {}));
  report.cgroups = await sweepCgroups({ filter: (id) => dead.has(id), recorded });
  return report;
}
