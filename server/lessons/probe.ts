// Reads one box's kernel state from the host for lesson checks: its process tree, layers, cgroup files, /proc and namespaced views.
import type { SubCgroup } from '../engine/cgroups/delegate-box.ts';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import type { SandboxHandle, SandboxStats, StageEvent } from '../engine/types.ts';
import { lstatBeneath, readHeadBeneath, statDirBeneath } from '../boxfs/index.ts';

export interface BoxProc {
  hostPid: number;
  /** pid in the box's PID namespace (last NSpid field). */
  boxPid: number;
  /** parent as the box sees it (0 when the parent is outside, as for PID 1). */
  boxPpid: number;
  hostPpid: number;
  /** Process group, as the host numbers it (/proc/<pid>/stat field 5 in the host's PID namespace). */
  pgrpHost: number;
  name: string;
  argv: string[];
  /** One letter of /proc/<pid>/status State: R S D Z T ... */
  state: string;
}

export interface BoxProbe {
  readonly id: string;
  readonly initPid: number;
  readonly events: readonly StageEvent[];
  processes(): BoxProc[];
  upperStat(rel: string): fs.Stats | null;
  lowerStat(rel: string): fs.Stats | null;
  readUpper(rel: string, maxBytes?: number): { data: Buffer; stat: fs.Stats } | null;
  /** /proc/<init>/<rel> (status, mountinfo, uid_map, net/dev, net/tcp...): kernel files, never box-made links. */
  procText(rel: string): string;
  hostText(p: string): string;
  stats(): Promise<SandboxStats>;
  /** Lab mode on cgroup v2: the cgroups below the box's own (engine CgroupSet.subtree). */
  cgroupSubtree(): Promise<SubCgroup[]>;
  /** A host binary run inside one of the box's namespaces that carry no files (uts, ipc, net): never its mount ns. */
  inNamespace(kind: 'uts' | 'ipc' | 'net', argv: string[]): Promise<string>;
  nsInode(kind: string): number;
  /** The host's namespace inode (the server's own) and another box process's (fakes may leave them out). */
  hostNsInode?(kind: string): number | null;
  procNsInode?(hostPid: number, kind: string): number | null;
  /** dev:ino of a directory inside the box (walked without following links), of a process's root, of the box root. */
  boxDirId(rel: string): string | null;
  rootIdOf(hostPid: number): string | null;
  /** True when the process's cwd is not beneath the box directory `dirId` (walking "..", no links involved). */
  cwdOutside(hostPid: number, dirId: string): boolean | null;
}

const NSENTER = ['/usr/bin/nsenter', '/bin/nsenter', '/usr/sbin/nsenter'];
const idOf = (s: fs.Stats): string => `${s.dev}:${s.ino}`;

/** stat of /proc/<pid>/ns/<kind> follows the magic link once, to the namespace; null when the process is gone. */
function nsStat(pid: number | 'self', kind: string): number | null {
  try {
    return fs.statSync(`/proc/${pid}/ns/${kind}`).ino;
  } catch {
    return null;
  }
}

function statusField(text: string, key: string): string | undefined {
  const m = new RegExp(`^${key}:\\s*(.*)$`, 'm').exec(text);
  return m?.[1];
}

export class RealProbe implements BoxProbe {
  readonly id: string;
  readonly initPid: number;
  private readonly nsenter: string;

  constructor(
    private readonly box: SandboxHandle,
    private readonly eventsOf: () => readonly StageEvent[] = () => box.events,
  ) {
    this.id = box.id;
    this.initPid = box.pids.init;
    this.nsenter = NSENTER.find((p) => fs.existsSync(p)) ?? 'nsenter';
  }

  get events(): readonly StageEvent[] {
    return this.eventsOf();
  }

  /** The box's processes: PID 1 and its descendants (orphans are re-parented to PID 1, so nothing is missed). */
  processes(): BoxProc[] {
    const out: BoxProc[] = [];
    const seen = new Set<number>();
    const queue = [this.initPid];
    while (queue.length && out.length < 4096) {
      const pid = queue.shift()!;
      if (seen.has(pid)) continue;
      seen.add(pid);
      const p = this.readProc(pid);
      if (!p) continue;
      out.push(p);
      let tasks: string[] = [];
      try {
        tasks = fs.readdirSync(`/proc/${pid}/task`);
      } catch {
        continue;
      }
      for (const t of tasks) {
        try {
          for (const c of fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(' ')) if (c.trim()) queue.push(Number(c));
        } catch {
          /* the task ended meanwhile */
        }
      }
    }
    const byHost = new Map(out.map((p) => [p.hostPid, p]));
    for (const p of out) p.boxPpid = byHost.get(p.hostPpid)?.boxPid ?? 0;
    return out;
  }

  private readProc(pid: number): BoxProc | null {
    try {
      const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      // comm may hold spaces and parentheses: fields after the last ')' are fixed.
      const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      let argv: string[] = [];
      try {
        argv = fs.readFileSync(`/proc/${pid}/cmdline`).subarray(0, 4096).toString('utf8').split('\0').filter(Boolean);
      } catch {
        /* zombies have none */
      }
      const nspid = (statusField(status, 'NSpid') ?? String(pid)).trim().split(/\s+/).map(Number);
      return {
        hostPid: pid,
        boxPid: nspid.at(-1) ?? pid,
        boxPpid: 0,
        hostPpid: Number(statusField(status, 'PPid') ?? 0),
        pgrpHost: Number(after[2]),
        name: statusField(status, 'Name') ?? '',
        argv,
        state: (statusField(status, 'State') ?? '?')[0] ?? '?',
      };
    } catch {
      return null;
    }
  }

  upperStat(rel: string): fs.Stats | null {
    return lstatBeneath(this.box.layers.upper, rel);
  }
  lowerStat(rel: string): fs.Stats | null {
    return lstatBeneath(this.box.layers.lower, rel);
  }
  readUpper(rel: string, maxBytes?: number) {
    return readHeadBeneath(this.box.layers.upper, rel, maxBytes);
  }

  procText(rel: string): string {
    if (rel.split('/').some((p) => p === '..' || ['root', 'cwd', 'exe', 'fd'].includes(p))) throw new Error(`refusing /proc/<pid>/${rel}`);
    return fs.readFileSync(`/proc/${this.initPid}/${rel}`, 'utf8');
  }

  hostText(p: string): string {
    return fs.readFileSync(p, 'utf8');
  }

  stats(): Promise<SandboxStats> {
    return this.box.stats();
  }

  cgroupSubtree(): Promise<SubCgroup[]> {
    return this.box.cgroupSubtree();
  }

  inNamespace(kind: 'uts' | 'ipc' | 'net', argv: string[]): Promise<string> {
    const args = [`--${kind}=/proc/${this.initPid}/ns/${kind}`, '--', ...argv];
    return new Promise((resolve, reject) => {
      execFile(this.nsenter, args, { timeout: 3000, maxBuffer: 256 * 1024, encoding: 'utf8' }, (err, stdout) =>
        err ? reject(new Error(`nsenter ${kind} ${argv[0]}: ${err.message.split('\n')[0]}`)) : resolve(stdout),
      );
    });
  }

  nsInode(kind: string): number {
    return fs.statSync(`/proc/${this.initPid}/ns/${kind}`).ino;
  }

  hostNsInode(kind: string): number | null {
    return nsStat('self', kind);
  }

  procNsInode(hostPid: number, kind: string): number | null {
    return nsStat(hostPid, kind);
  }

  boxDirId(rel: string): string | null {
    const s = statDirBeneath(`/proc/${this.initPid}/root`, rel);
    return s ? idOf(s) : null;
  }

  rootIdOf(hostPid: number): string | null {
    try {
      // stat (not lstat) jumps through the magic link once, to the directory itself: no path is resolved after it.
      return idOf(fs.statSync(`/proc/${hostPid}/root`));
    } catch {
      return null;
    }
  }

  cwdOutside(hostPid: number, dirId: string): boolean | null {
    const rootId = this.rootIdOf(this.initPid);
    let fd: number;
    try {
      fd = fs.openSync(`/proc/${hostPid}/cwd`, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    } catch {
      return null;
    }
    try {
      // ".." never follows a symlink; the walk ends at the jail (inside) or the box root (outside).
      for (let i = 0; i < 256; i++) {
        const id = idOf(fs.fstatSync(fd));
        if (id === dirId) return false;
        if (id === rootId) return true;
        const up = fs.openSync(`/proc/self/fd/${fd}/..`, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
        fs.closeSync(fd);
        fd = up;
      }
      return null;
    } finally {
      fs.closeSync(fd);
    }
  }
}
