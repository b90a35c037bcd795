// Lab mode: the fork tree the learner's own runtime built (e.g. the capstone's unshare --fork), from the x-ray's process rows.
import type { XrayProc } from '../../server/protocol/xray';

export type LearnerRole = 'namespaced-parent' | 'inner-child' | 'process';
export interface LearnerForkRow {
  /** Pid in the box's PID namespace. */
  pid: number;
  name: string;
  cmd: string;
  depth: number;
  role: LearnerRole;
  /** NSpid below the host (box pid first) when the process is in a PID namespace of the learner's. */
  nspid: number[] | null;
  /** Kinds of the namespaces it holds apart from the box's PID 1. */
  own: string[];
}

/**
 * The processes that hold namespaces of their own or sit in a nested PID namespace, with their ancestors up to the
 * box's PID 1, depth first. The parent of a nested PID 1 is the learner's namespaced parent (unshare --fork), the
 * nested PID 1 their inner child, as in the engine's own double fork. [] when the learner built nothing.
 */
export function learnerFork(procs: Iterable<XrayProc>): LearnerForkRow[] {
  const byPid = new Map<number, XrayProc>();
  for (const p of procs) if (p.pid !== null) byPid.set(p.pid, p);
  const nested = (p: XrayProc) => !!p.nsOwn?.length || (p.nspid?.length ?? 0) > 1;
  const keep = new Set<number>();
  for (const p of byPid.values()) {
    if (!nested(p) || p.pid === null) continue;
    // Up to PID 1 through box-level parents; a loop or a gap (a parent already gone) just stops the walk.
    for (
      let cur: XrayProc | undefined = p;
      cur?.pid != null && !keep.has(cur.pid);
      cur = cur.ppid !== null ? byPid.get(cur.ppid) : undefined
    ) {
      keep.add(cur.pid);
      if (cur.pid === 1) break;
    }
  }
  if (!keep.size) return [];
  const innerChild = (p: XrayProc) => (p.nspid?.length ?? 0) > 1 && p.nspid?.at(-1) === 1;
  const parents = new Set(
    [...keep]
      .map((pid) => byPid.get(pid))
      .filter((p): p is XrayProc => !!p && innerChild(p))
      .map((p) => p.ppid),
  );
  const kids = new Map<number, number[]>();
  const roots: number[] = [];
  for (const pid of [...keep].sort((a, b) => a - b)) {
    const pp = byPid.get(pid)?.ppid ?? null;
    if (pp !== null && keep.has(pp) && pp !== pid) kids.set(pp, [...(kids.get(pp) ?? []), pid]);
    else roots.push(pid);
  }
  const out: LearnerForkRow[] = [];
  const seen = new Set<number>();
  const visit = (pid: number, depth: number) => {
    if (seen.has(pid)) return;
    seen.add(pid);
    const p = byPid.get(pid)!;
    out.push({
      pid,
      name: p.name,
      cmd: p.cmd,
      depth,
      role: innerChild(p) ? 'inner-child' : parents.has(pid) ? 'namespaced-parent' : 'process',
      nspid: p.nspid ?? null,
      own: (p.nsOwn ?? []).map((n) => n.kind),
    });
    for (const k of kids.get(pid) ?? []) visit(k, depth + 1);
  };
  for (const r of roots) visit(r, 0);
  // A parent loop (pids reused between two samples) has no root: start it at its lowest pid.
  for (const pid of [...keep].sort((a, b) => a - b)) visit(pid, 0);
  return out;
}
