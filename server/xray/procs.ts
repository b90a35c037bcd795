// The box's process tree from the host's /proc: walked from PID 1 through task/*/children, each process read via its own dir fd.
import { XRAY_LIMITS, type XrayProc } from '../protocol/xray.ts';
import { NS_KINDS } from '../protocol/xray.ts';
import { at, closeFd, listAt, openDir, readAt, readlinkAt, readText } from '../boxfs/index.ts';
import { clean, cleanCmdline } from './text.ts';

export interface Status {
  name: string;
  state: string;
  ppid: number;
  nspid: number[];
  uid: number;
  threads: number;
}

/** The fields of /proc/<pid>/status the x-ray shows. The kernel escapes "\n" in Name, but clean() anyway. */
export function parseStatus(text: string): Status | null {
  const get = (k: string): string | undefined => {
    const i = text.indexOf(`\n${k}:`);
    const start = i >= 0 ? i + k.length + 2 : text.startsWith(`${k}:`) ? k.length + 1 : -1;
    if (start < 0) return undefined;
    const end = text.indexOf('\n', start);
    return text.slice(start, end < 0 ? undefined : end).trim();
  };
  const ppid = Number(get('PPid'));
  const nspid = (get('NSpid') ?? '').split(/\s+/).filter(Boolean).map(Number);
  if (!Number.isInteger(ppid) || !nspid.length || nspid.some((n) => !Number.isInteger(n) || n <= 0)) return null;
  return {
    name: clean(get('Name') ?? '?', XRAY_LIMITS.name),
    state: (get('State') ?? '?').charAt(0),
    ppid,
    nspid,
    uid: Number((get('Uid') ?? '-1').split(/\s+/)[0]),
    threads: Number(get('Threads') ?? 1) || 1,
  };
}

/** uid_map lines "inside outside count", as read by a process in the host's user namespace. */
export function parseIdMap(text: string): Array<[number, number, number]> {
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number))
    .filter((f) => f.length === 3 && f.every(Number.isInteger))
    .map((f) => [f[0], f[1], f[2]] as [number, number, number]);
}

export function uidInside(map: Array<[number, number, number]>, hostUid: number): number | null {
  for (const [inside, outside, count] of map) if (hostUid >= outside && hostUid < outside + count) return inside + hostUid - outside;
  return null;
}

function pidsIn(text: string | null): number[] {
  if (!text) return [];
  return text
    .split(/\s+/)
    .filter((s) => /^\d{1,9}$/.test(s))
    .map(Number);
}

interface Opened {
  fd: number;
  status: Status;
}

/** Opens /proc/<pid> (no follow) and reads its status through that fd, so every later read is this process's. */
function openProc(procRoot: string, pid: number): Opened | null {
  const fd = openDir(`${procRoot}/${pid}`);
  if (fd === null) return null;
  const raw = readText(fd, 'status', 8192);
  const status = raw ? parseStatus(raw) : null;
  if (!status || status.nspid[0] !== pid) {
    closeFd(fd);
    return null;
  }
  return { fd, status };
}

export interface ProcSample {
  procs: XrayProc[];
  truncated: boolean;
}

export interface ProcWalkOptions {
  procRoot: string;
  /** Host pid of the box's PID 1 and of the namespaced parent above it. */
  init: number;
  parent: number;
  /** uid_map of the box (host view); empty: uidIn is null. */
  uidMap: Array<[number, number, number]>;
  maxProcs?: number;
  maxThreads?: number;
  /** Owner user namespace of a namespace link (ioctl_ns(2) NS_GET_USERNS; native-bindings nsOwnerIno). Without it
   * a nested namespace is shown as owned by the user namespace its process is in. */
  nsOwner?: NsOwner;
}

/** Inode of the user namespace owning the namespace behind a ns link path (for a user ns: its parent), or null. */
export type NsOwner = (nsPath: string) => number | null;

type NsMap = Partial<Record<(typeof NS_KINDS)[number], number>>;

/** Namespace inodes of a process through its dir fd ("pid:[4026531836]" -> 4026531836); pid_for_children is not read. */
export function nsOf(fd: number): NsMap {
  const out: NsMap = {};
  for (const kind of NS_KINDS) {
    const m = /\[(\d+)\]$/.exec(readlinkAt(fd, `ns/${kind}`)?.toString('latin1') ?? '');
    if (m) out[kind] = Number(m[1]);
  }
  return out;
}

/** Lab mode: what a process built below the box (its NSpid levels past the box's and its own namespaces). */
export function nestedOf(
  nspid: number[],
  mine: NsMap,
  box: NsMap,
  ownerOf?: (kind: string) => number | null,
): Pick<XrayProc, 'nspid' | 'nsOwn'> {
  const nsOwn = NS_KINDS.filter((k) => mine[k] !== undefined && box[k] !== undefined && mine[k] !== box[k]).map((kind) => ({
    kind,
    ino: mine[kind]!,
    userns: ownerOf ? ownerOf(kind) : (mine.user ?? null),
  }));
  return { ...(nspid.length > 2 ? { nspid: nspid.slice(1) } : {}), ...(nsOwn.length ? { nsOwn } : {}) };
}

function toProc(
  o: Opened,
  cmd: string,
  uidMap: ProcWalkOptions['uidMap'],
  boxPpid: number | null,
  box?: NsMap,
  nsOwner?: NsOwner,
): XrayProc {
  const s = o.status;
  // The links are read through the process's dir fd: a pid reused meanwhile cannot swap in another process's.
  const ownerOf = nsOwner && ((kind: string) => nsOwner(at(o.fd, `ns/${kind}`)));
  return {
    ...(box ? nestedOf(s.nspid, nsOf(o.fd), box, ownerOf) : {}),
    hostPid: s.nspid[0]!,
    // The box's level of NSpid, not the last one: a learner's nested PID 1 is pid N in the box (nspid has the rest).
    pid: s.nspid[1] ?? null,
    hostPpid: s.ppid,
    ppid: boxPpid,
    name: s.name,
    state: s.state,
    cmd,
    uid: s.uid,
    uidIn: uidInside(uidMap, s.uid),
    threads: s.threads,
  };
}

/**
 * Breadth-first from PID 1. A child pid read from a children file may die and be reused by an unrelated host
 * process before we open it; its status is read through the opened fd and kept only if its PPid is the parent
 * we came from, which an unrelated process cannot have. Zombies have no ns links but do have status: kept.
 */
export function sampleProcs(o: ProcWalkOptions): ProcSample {
  const max = o.maxProcs ?? XRAY_LIMITS.maxProcs;
  const procs: XrayProc[] = [];
  let truncated = false;
  const init = openProc(o.procRoot, o.init);
  if (!init || init.status.nspid.length < 2 || init.status.nspid.at(-1) !== 1) {
    closeFd(init?.fd ?? null);
    return { procs, truncated };
  }
  const parent = openProc(o.procRoot, o.parent);
  // Outside the box: its name is enough; its command line is the server's business, not the learner's.
  if (parent && init.status.ppid === o.parent) procs.push(toProc(parent, '', o.uidMap, null));
  closeFd(parent?.fd ?? null);
  const boxPidOf = new Map<number, number>();
  const boxNs = nsOf(init.fd);
  const queue: Opened[] = [init];
  const seen = new Set<number>([o.init]);
  let accepted = 1;
  while (queue.length) {
    const cur = queue.shift()!;
    try {
      const me = toProc(cur, cmdOf(cur.fd), o.uidMap, cur === init ? 0 : (boxPidOf.get(cur.status.ppid) ?? null), boxNs, o.nsOwner);
      boxPidOf.set(me.hostPid, me.pid ?? 0);
      procs.push(me);
      for (const child of childrenOf(cur.fd, cur.status, o.maxThreads ?? 64)) {
        if (seen.has(child)) continue;
        if (accepted >= max) {
          truncated = true;
          break;
        }
        seen.add(child);
        const c = openProc(o.procRoot, child);
        if (!c) continue;
        if (c.status.ppid !== me.hostPid || c.status.nspid.length < 2) closeFd(c.fd);
        else {
          queue.push(c);
          accepted++;
        }
      }
    } finally {
      closeFd(cur.fd);
    }
  }
  for (const q of queue) closeFd(q.fd);
  return { procs, truncated };
}

function cmdOf(fd: number): string {
  const raw = readAt(fd, 'cmdline', 1024);
  return raw ? cleanCmdline(raw, XRAY_LIMITS.cmd) : '';
}

/** Children of every thread (a thread that forks is the child's parent: task/<tid>/children, proc(5)). */
function childrenOf(fd: number, status: Status, maxThreads: number): number[] {
  // The common case, one thread: its task dir is the pid's own, no directory listing needed.
  if (status.threads === 1) return pidsIn(readText(fd, `task/${status.nspid[0]}/children`, 64 * 1024, 'latin1'));
  const tasks = openDir('task', fd);
  if (tasks === null) return [];
  try {
    const out: number[] = [];
    for (const tid of listAt(tasks, maxThreads).names) {
      const t = tid.toString('latin1');
      if (!/^\d+$/.test(t)) continue;
      const dir = openDir(t, tasks);
      if (dir === null) continue;
      out.push(...pidsIn(readText(dir, 'children', 64 * 1024, 'latin1')));
      closeFd(dir);
    }
    return out;
  } finally {
    closeFd(tasks);
  }
}
