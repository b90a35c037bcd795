// sweep.ts: after a crash (kill -9 of the server), finds what dead sandboxes left and removes it.
import { rmSync } from 'node:fs';
import { sweepCgroups } from './cgroups/index.ts';
import type { EngineDeps } from './deps.ts';
import { mountsUnder, processStartTime, readRecords, RUN_DIR, type SandboxRecord } from './state.ts';
import { pruneUidSlots } from './uid-registry.ts';
import { MNT_DETACH, SIGKILL } from './syscalls.ts';

export interface SweepReport {
  sandboxes: string[];
  killed: number[];
  unmounted: string[];
  cgroups: string[];
}

/** Whether a process exists (kill(2) with signal 0). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export { mountsUnder };

/** A record whose server is gone (or, with onlyDeadServers false, any record); one without state.json after 30 s. */
function isLeftover(r: SandboxRecord & { ageMs: number }, onlyDeadServers = true): boolean {
  return r.serverPid === 0 ? r.ageMs > 30_000 : !onlyDeadServers || !alive(r.serverPid);
}

/**
 * Whether sweep() would find anything: one readdir of the sandboxes dir (usually empty), then a record read and a
 * kill(pid, 0) per entry. `boxlab run` asks this instead of sweeping on every start (the sweep loads the native
 * layer and walks the cgroup hierarchies).
 */
export function sweepNeeded(runDir = RUN_DIR): boolean {
  return readRecords(runDir).some((r) => isLeftover(r));
}

/**
 * Removes leftovers of sandboxes whose server is gone: processes (only when pid and start time both match the
 * record, so a reused pid is never killed), mounts under the run dir, cgroups under boxlab/, state and slots.
 */
export async function sweep(
  deps?: Pick<EngineDeps, 'sys'> & { runDir?: string; uidRegistry?: string },
  onlyDeadServers = true,
): Promise<SweepReport> {
  const runDir = deps?.runDir ?? RUN_DIR;
  const sys = deps?.sys ?? (await import('../../native-bindings/index.ts')).realSyscalls;
  const report: SweepReport = { sandboxes: [], killed: [], unmounted: [], cgroups: [] };
  const records = readRecords(runDir).filter((r) => isLeftover(r, onlyDeadServers));
  for (const r of records) {
    for (const p of [r.init, r.namespacedParent]) {
      if (p?.starttime && processStartTime(p.pid) === p.starttime) {
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
    report.sandboxes.push(r.id);
  }
  // A slot is freed by the registry itself once its box's processes are gone and nothing is mounted under its dir;
  // SIGKILL above is asynchronous, so a box still dying keeps its entry until the next prune or claim.
  pruneUidSlots({ registry: deps?.uidRegistry });
  // Only cgroups of sandboxes recorded here as dead: the boxlab/ parent may be shared with other servers'
  // live sandboxes (v1 hierarchies whose own cgroup is '/'), which must never be touched.
  const dead = new Set(records.map((r) => r.id));
  // Recorded paths find boxes made under another server's cgroup subtree (its own systemd scope on v2).
  const recorded = records.flatMap((r) => Object.values(r.cgroups ?? {}));
  report.cgroups = await sweepCgroups({ filter: (id) => dead.has(id), recorded });
  return report;
}
