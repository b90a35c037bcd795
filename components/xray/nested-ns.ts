// Lab mode: the namespaces the learner built inside the box, grouped as a tree under the box's user namespace.
import type { XrayProc } from '../../server/protocol/xray';

export interface NestedNs {
  kind: string;
  ino: number;
  /** Box-level pids of the processes in it. */
  pids: number[];
}
export interface NestedUserNs {
  /** Inode of the user namespace the processes are in (the box's own when null nesting). */
  userns: number | null;
  /** Namespaces other than user held by processes of this user namespace. */
  spaces: NestedNs[];
  /** NSpid levels seen below the box (e.g. "4 → 1"), one per process. */
  levels: string[];
}

/** Groups every process's own namespaces by the user namespace it is in; sorted by inode for a stable picture. */
export function nestedTree(procs: Iterable<XrayProc>): NestedUserNs[] {
  const byUser = new Map<string, NestedUserNs>();
  for (const p of procs) {
    if (!p.nsOwn?.length) continue;
    const user = p.nsOwn.find((n) => n.kind === 'user')?.ino ?? null;
    const key = String(user);
    const g = byUser.get(key) ?? { userns: user, spaces: [], levels: [] };
    byUser.set(key, g);
    for (const n of p.nsOwn) {
      if (n.kind === 'user') continue;
      const s = g.spaces.find((x) => x.kind === n.kind && x.ino === n.ino);
      if (s) s.pids.push(p.pid ?? p.hostPid);
      else g.spaces.push({ kind: n.kind, ino: n.ino, pids: [p.pid ?? p.hostPid] });
    }
    if (p.nspid && p.nspid.length > 1) g.levels.push(`${p.name} ${p.nspid.join(' → ')}`);
  }
  const out = [...byUser.values()];
  for (const g of out) g.spaces.sort((a, b) => a.kind.localeCompare(b.kind) || a.ino - b.ino);
  return out.sort((a, b) => (a.userns ?? 0) - (b.userns ?? 0));
}
