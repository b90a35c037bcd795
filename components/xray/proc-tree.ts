// The box's processes as tree rows (parent before children, by pid), with the guides an indented tree needs.
import type { XrayProc } from '../../server/protocol/xray';

export interface TreeRow {
  p: XrayProc;
  depth: number;
  /** Per ancestor level: does a later sibling follow (draw the vertical guide through this row)? */
  guides: boolean[];
  last: boolean;
}

const order = (a: XrayProc, b: XrayProc) => (a.pid ?? -1) - (b.pid ?? -1) || a.hostPid - b.hostPid;

export function procTree(procs: ReadonlyMap<number, XrayProc>): TreeRow[] {
  const kids = new Map<number, XrayProc[]>();
  const roots: XrayProc[] = [];
  for (const p of procs.values()) {
    if (procs.has(p.hostPpid) && p.hostPpid !== p.hostPid) {
      const list = kids.get(p.hostPpid) ?? [];
      list.push(p);
      kids.set(p.hostPpid, list);
    } else roots.push(p);
  }
  const rows: TreeRow[] = [];
  const seen = new Set<number>();
  const visit = (p: XrayProc, depth: number, guides: boolean[], last: boolean) => {
    if (seen.has(p.hostPid)) return; // never loop, whatever the data says
    seen.add(p.hostPid);
    rows.push({ p, depth, guides, last });
    const list = (kids.get(p.hostPid) ?? []).sort(order);
    list.forEach((c, i) => visit(c, depth + 1, [...guides, !last], i === list.length - 1));
  };
  roots.sort(order).forEach((r, i, all) => visit(r, 0, [], i === all.length - 1));
  return rows;
}

export const STATE_WORDS: Record<string, string> = {
  R: 'running',
  S: 'sleeping',
  D: 'disk sleep',
  Z: 'zombie: exited, not yet reaped by its parent',
  T: 'stopped',
  t: 'traced',
  X: 'dead',
  I: 'idle',
};
