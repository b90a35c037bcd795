// Lab mode: the namespaces the learner built inside the box, as the kernel's ownership tree under the box's user namespace.
import type { XrayProc } from '../../server/protocol/xray';

export interface NestedNs {
  kind: string;
  ino: number;
  /** Box-level pids of the processes in it. */
  pids: number[];
}
export interface NestedUserNs {
  /** Inode of this user namespace; null for the box's own (the root of the tree). */
  userns: number | null;
  /** Namespaces other than user that this user namespace owns (ioctl_ns(2) NS_GET_USERNS). */
  spaces: NestedNs[];
  /** User namespaces made inside this one (their parent is this one). */
  children: NestedUserNs[];
  /** NSpid levels seen below the box (e.g. "sh 4 → 1"), for processes in this user namespace. */
  levels: string[];
}

/**
 * Builds the tree from each process's own namespaces and their owners: a user namespace hangs under its parent, any
 * other namespace under the user namespace owning it. An owner the server could not read (null, or a user namespace
 * reported as its own owner by the older approximation) hangs under the box's; so does one not seen in any process.
 */
export function nestedTree(procs: Iterable<XrayProc>): NestedUserNs {
  const root: NestedUserNs = { userns: null, spaces: [], children: [], levels: [] };
  const users = new Map<number, { node: NestedUserNs; parent: number | null }>();
  const others: Array<{ kind: string; ino: number; owner: number | null; pid: number }> = [];
  const levels: Array<{ user: number | null; text: string }> = [];
  for (const p of procs) {
    if (!p.nsOwn?.length) continue;
    const pid = p.pid ?? p.hostPid;
    const myUser = p.nsOwn.find((n) => n.kind === 'user');
    for (const n of p.nsOwn) {
      if (n.kind === 'user') {
        if (!users.has(n.ino))
          users.set(n.ino, { node: { userns: n.ino, spaces: [], children: [], levels: [] }, parent: n.userns === n.ino ? null : n.userns });
      } else others.push({ kind: n.kind, ino: n.ino, owner: n.userns, pid });
    }
    if (p.nspid && p.nspid.length > 1) levels.push({ user: myUser?.ino ?? null, text: `${p.name} ${p.nspid.join(' → ')}` });
  }
  const nodeOf = (ino: number | null): NestedUserNs => (ino === null ? root : (users.get(ino)?.node ?? root));
  for (const { node, parent } of users.values()) {
    // A parent that is not a user namespace we know (the box's own, or unreadable) means: directly under the box.
    const up = parent !== null && users.has(parent) && parent !== node.userns ? nodeOf(parent) : root;
    up.children.push(node);
  }
  for (const o of others) {
    const host = nodeOf(o.owner);
    const s = host.spaces.find((x) => x.kind === o.kind && x.ino === o.ino);
    if (s) {
      if (!s.pids.includes(o.pid)) s.pids.push(o.pid);
    } else host.spaces.push({ kind: o.kind, ino: o.ino, pids: [o.pid] });
  }
  for (const l of levels) nodeOf(l.user).levels.push(l.text);
  const sort = (n: NestedUserNs) => {
    n.spaces.sort((a, b) => a.kind.localeCompare(b.kind) || a.ino - b.ino);
    n.children.sort((a, b) => (a.userns ?? 0) - (b.userns ?? 0));
    n.children.forEach(sort);
  };
  sort(root);
  return root;
}

/** True when the learner built nothing (no process holds a namespace apart from PID 1's). */
export const isEmpty = (t: NestedUserNs): boolean => !t.spaces.length && !t.children.length && !t.levels.length;
