// Lab mode on cgroup v2: hands the box's own cgroup subtree to the box's root, as systemd's Delegate= does for a unit.
import path from 'node:path';
import { cgError, errCode, readOptional, type CgroupIO } from './io.ts';
import { parsePids, pidsRefusedOf } from './parse.ts';

const j = path.posix.join;

/** The leaf the box's processes move into: a cgroup with controllers in subtree_control may hold no process. */
export const BOX_INIT_LEAF = 'init';
/**
 * Files the delegatee must own (Documentation/admin-guide/cgroup-v2.rst, "Delegation"): the directory (to mkdir
 * children), cgroup.procs and cgroup.threads (to move its processes between them) and cgroup.subtree_control. Never
 * memory.max, cpu.max, pids.max or cgroup.max.*: those stay root's, so the box cannot raise its own limits, and
 * every limit a child gets is capped by the box's (the hierarchy is enforced by the kernel at each level).
 */
export const DELEGATED_FILES = ['cgroup.procs', 'cgroup.threads', 'cgroup.subtree_control'] as const;
/** Learner-made cgroups are kernel objects: a few dozen are plenty for a lesson, and depth stays small. */
export const MAX_DESCENDANTS = 32;
export const MAX_DEPTH = 4;
const CONTROLLERS = ['memory', 'pids', 'cpu'] as const;

export interface DelegateResult {
  /** Controllers written to the box's cgroup.subtree_control (what a learner's child cgroup gets). */
  controllers: string[];
  /** Pids moved into <box>/init. */
  moved: number[];
  /** Why the box got no subtree after all (its processes did not leave the box cgroup in time), if it did not. */
  skipped?: string;
}

/** How long the move into init/ may wait for exiting tasks to go (they cannot be migrated, and stay listed). */
export const MOVE_DEADLINE_MS = 2000;

/**
 * Moves every process of `box` into `<box>/init`, enables the box's controllers for its children, caps the subtree
 * and chowns the delegation files to the box's root (`uid`, `gid` on the host). Processes that fork meanwhile land in
 * their parent's cgroup, so the move repeats until `box` itself is empty (cgroup.procs lists each pid once).
 */
export async function delegateBox(
  io: CgroupIO,
  box: string,
  uid: number,
  gid: number,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<DelegateResult> {
  const leaf = j(box, BOX_INIT_LEAF);
  const moved: number[] = [];
  try {
    await io.mkdir(leaf);
  } catch (e) {
    if (errCode(e) !== 'EEXIST') throw cgError('running', e, { syscall: 'mkdir', path: leaf }, 'delegating the box cgroup');
  }
  // A task that is exiting is skipped by the migration without an error (PF_EXITING in cgroup_migrate_add_task) and
  // stays listed until it is gone: a box whose PID 1 ends at once (a pipe-mode command) shows that for a while, so
  // the rounds wait a little, up to MOVE_DEADLINE_MS. A box still not empty then gets no subtree (nothing is
  // chowned, no controller is enabled): it is exiting, or forking faster than we move it.
  const deadline = Date.now() + MOVE_DEADLINE_MS;
  for (let round = 0; ; round++) {
    const left = parsePids(await io.read(j(box, 'cgroup.procs')));
    if (left.length === 0) break;
    if (Date.now() > deadline) return { controllers: [], moved, skipped: `${left.length} process(es) still in the box cgroup` };
    if (round > 0) await sleep(Math.min(2 ** round, 50));
    for (const pid of left) {
      try {
        await io.write(j(leaf, 'cgroup.procs'), String(pid));
        moved.push(pid);
      } catch (e) {
        if (errCode(e) !== 'ESRCH') throw cgError('running', e, { syscall: 'write', path: j(leaf, 'cgroup.procs') }, `moving pid ${pid}`);
      }
    }
  }
  const offered = (await io.read(j(box, 'cgroup.controllers'))).trim().split(/\s+/);
  const controllers = CONTROLLERS.filter((c) => offered.includes(c));
  const write = async (file: string, value: string) => {
    try {
      await io.write(j(box, file), value);
    } catch (e) {
      throw cgError('running', e, { syscall: 'write', path: j(box, file) }, 'delegating the box cgroup');
    }
  };
  if (controllers.length) await write('cgroup.subtree_control', controllers.map((c) => `+${c}`).join(' '));
  await write('cgroup.max.descendants', String(MAX_DESCENDANTS));
  await write('cgroup.max.depth', String(MAX_DEPTH));
  for (const p of [box, leaf, ...DELEGATED_FILES.map((f) => j(box, f)), ...DELEGATED_FILES.map((f) => j(leaf, f))]) {
    try {
      await io.chown(p, uid, gid);
    } catch (e) {
      throw cgError('running', e, { syscall: 'chown', path: p }, 'delegating the box cgroup');
    }
  }
  return { controllers, moved };
}

/** Every cgroup below `dir`, deepest first (the order rmdir needs); [] when it has none or is gone. */
export async function descendants(io: CgroupIO, dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, depth: number) => {
    // The kernel caps a delegated box at MAX_DEPTH; the bound here only keeps a corrupt tree from recursing forever.
    if (depth > 16) return;
    for (const name of await io.listDirs(d)) {
      const child = j(d, name);
      await walk(child, depth + 1);
      out.push(child);
    }
  };
  await walk(dir, 0);
  return out;
}

/** One learner-made cgroup (or the init leaf) below a delegated box, as the x-ray and the lesson checks see it. */
export interface SubCgroup {
  /** Path below the box's cgroup, e.g. "init" or "mine/inner": what the learner sees under /sys/fs/cgroup. */
  path: string;
  /** memory.max in bytes; null when unlimited ("max") or the memory controller is off there. */
  memoryMax: number | null;
  memoryCurrent: number | null;
  /** oom_kill of memory.events (hierarchical: kills in this cgroup and below). */
  oomKills: number;
  pidsMax: number | null;
  /** pids.events "max" there (0 when the pids controller is off there). */
  pidsRefused: number;
  procs: number[];
  controllers: string[];
}

const num = (s: string): number | null => (s.trim() === 'max' ? null : Number(s.trim()));

/** Reads every cgroup below `box` (a file missing because its controller is off reads as null). */
export async function readSubtree(io: CgroupIO, box: string): Promise<SubCgroup[]> {
  const out: SubCgroup[] = [];
  const opt = (p: string) => readOptional(io, p);
  for (const dir of (await descendants(io, box)).reverse()) {
    const procs = await opt(j(dir, 'cgroup.procs'));
    if (procs === null) continue; // removed while we walked
    const events = (await opt(j(dir, 'memory.events'))) ?? '';
    const mem = await opt(j(dir, 'memory.max'));
    const cur = await opt(j(dir, 'memory.current'));
    const pids = await opt(j(dir, 'pids.max'));
    const pidsEvents = await opt(j(dir, 'pids.events'));
    out.push({
      path: path.posix.relative(box, dir),
      memoryMax: mem === null ? null : num(mem),
      memoryCurrent: cur === null ? null : num(cur),
      oomKills: Number(/^oom_kill (\d+)$/m.exec(events)?.[1] ?? 0),
      pidsMax: pids === null ? null : num(pids),
      pidsRefused: pidsEvents === null ? 0 : pidsRefusedOf(pidsEvents),
      procs: parsePids(procs),
      controllers: ((await opt(j(dir, 'cgroup.controllers'))) ?? '').trim().split(/\s+/).filter(Boolean),
    });
  }
  return out;
}
