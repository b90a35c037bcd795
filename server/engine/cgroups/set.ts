// One box's cgroup handle: attach, procs, stats, killAll (cgroup.kill or freeze+SIGKILL+thaw) and remove.
import path from 'node:path';
import { SyscallError } from '../../../native-bindings/errors.ts';
import { SandboxError, type SandboxStats } from '../types.ts';
import { layoutVersion, type CgroupLayout, type Controller } from './detect.ts';
import { cgError, errCode, type CgroupIO } from './io.ts';
import { BOX_PARENT_NAMES, type SystemdHooks, type V2Base } from './delegate.ts';
import { parsePids } from './parse.ts';
import { pidsStats, v1CpuStats, v1Freeze, v1MemoryStats, v1Thaw, type Clock } from './v1.ts';
import { v2CpuStats, v2Kill, v2MemoryStats } from './v2.ts';
import { delegateBox, descendants, readSubtree, type DelegateResult, type SubCgroup } from './delegate-box.ts';

const j = path.posix.join;
/** Directory under the server's own cgroup that holds one child cgroup per sandbox. */
export const PARENT_NAME = 'boxlab';

export interface CgroupSet {
  readonly sandboxId: string;
  /** 2 when memory, cpu and pids are all on cgroup2, else 1 (v1 or hybrid). */
  readonly version: 1 | 2;
  /** Controller -> directory of this box's cgroup (co-mounted or v2 controllers share one). */
  readonly paths: Partial<Record<Controller, string>>;
  /** Puts a process (with all its threads) into every controller's cgroup. */
  addProcess(pid: number): Promise<void>;
  stats(): Promise<SandboxStats>;
  /** Union of cgroup.procs over all the box's cgroups, sorted. */
  procs(): Promise<number[]>;
  /** SIGKILLs every process of the box until none is left (throws after killTimeoutMs). */
  killAll(): Promise<void>;
  /** rmdir of the box's cgroups (children a delegated box made first); idempotent; retries EBUSY while tasks drain. */
  remove(): Promise<void>;
  /** Lab mode on v2: the box's root gets its cgroup subtree (delegate-box.ts); null where the layout has no v2 box. */
  delegate(uid: number, gid: number): Promise<DelegateResult | null>;
  /** The cgroups below the box's v2 cgroup (what a delegated box made); [] elsewhere. */
  subtree(): Promise<SubCgroup[]>;
}

export interface Node {
  dir: string;
  version: 1 | 2;
  controllers: Controller[];
}

export interface Ctx {
  io: CgroupIO;
  clock: Clock;
  fsRoot: string;
  layout: CgroupLayout;
  /** The v2 subtree (delegated unit or documented subtree) when controllers live on cgroup2. */
  base?: V2Base;
  hooks?: SystemdHooks;
  killTimeoutMs: number;
  removeTimeoutMs: number;
}

export function makeSet(ctx: Ctx, sandboxId: string, nodes: Node[]): CgroupSet {
  const { io, clock } = ctx;
  const paths: Partial<Record<Controller, string>> = {};
  for (const n of nodes) for (const c of n.controllers) paths[c] = n.dir;
  const nodeOf = (c: Controller) => nodes.find((n) => n.controllers.includes(c));

  const procs = async (): Promise<number[]> => {
    const all = new Set<number>();
    for (const n of nodes) {
      // A delegated v2 box keeps its processes in children it (or we) made: count the whole subtree.
      const dirs = n.version === 2 ? [n.dir, ...(await descendants(io, n.dir))] : [n.dir];
      for (const d of dirs) {
        try {
          for (const pid of parsePids(await io.read(j(d, 'cgroup.procs')))) all.add(pid);
        } catch (e) {
          if (errCode(e) !== 'ENOENT') throw cgError('cgroup_remove', e, { syscall: 'open', path: j(d, 'cgroup.procs') });
        }
      }
    }
    return [...all].sort((a, b) => a - b);
  };
  const v2Node = nodes.find((n) => n.version === 2);

  /** rmdir with EBUSY retried until removeTimeoutMs (a just-emptied cgroup is offlined asynchronously). */
  const rmdirRetry = async (dir: string) => {
    const deadline = clock.now() + ctx.removeTimeoutMs;
    for (;;) {
      try {
        await io.rmdir(dir);
        return;
      } catch (e) {
        const code = errCode(e);
        if (code === 'ENOENT') return;
        if (code === 'EBUSY' && clock.now() < deadline) {
          await clock.sleep(20);
          continue;
        }
        throw cgError('cgroup_remove', e, { syscall: 'rmdir', path: dir });
      }
    }
  };

  const killOnce = async (): Promise<void> => {
    const v2 = nodes.find((n) => n.version === 2);
    if (v2 && (await v2Kill(io, v2.dir))) return;
    const freezer = nodes.find((n) => n.version === 1 && n.controllers.includes('freezer'));
    const v2Freeze = v2 && !freezer && (await io.exists(j(v2.dir, 'cgroup.freeze'))) ? j(v2.dir, 'cgroup.freeze') : null;
    if (freezer) await v1Freeze(io, freezer.dir, clock);
    else if (v2Freeze) await io.write(v2Freeze, '1');
    try {
      for (const pid of await procs()) io.kill(pid, 'SIGKILL');
    } finally {
      // Always thaw: a box left FROZEN would never see its SIGKILLs nor exit.
      if (freezer) await v1Thaw(io, freezer.dir);
      else if (v2Freeze) await io.write(v2Freeze, '0');
    }
  };

  return {
    sandboxId,
    version: layoutVersion(ctx.layout),
    paths,
    async addProcess(pid) {
      if (!Number.isSafeInteger(pid) || pid <= 0) throw new Error(`addProcess: invalid pid ${pid}`);
      for (const n of nodes) {
        const f = j(n.dir, 'cgroup.procs');
        try {
          await io.write(f, String(pid));
        } catch (e) {
          throw cgError('cgroup_attach', e, { syscall: 'write', path: f }, `adding pid ${pid}`);
        }
      }
    },
    procs,
    async stats() {
      const mem = nodeOf('memory')!;
      const cpu = nodeOf('cpu')!;
      const pids = nodeOf('pids')!;
      try {
        const memory = mem.version === 1 ? await v1MemoryStats(io, mem.dir) : await v2MemoryStats(io, mem.dir);
        const cpuStats = cpu.version === 1 ? await v1CpuStats(io, cpu.dir, nodeOf('cpuacct')!.dir) : await v2CpuStats(io, cpu.dir);
        return { memory, cpu: cpuStats, pids: await pidsStats(io, pids.dir), cgroupVersion: layoutVersion(ctx.layout) };
      } catch (e) {
        throw cgError('running', e, { syscall: 'open', path: mem.dir }, 'reading cgroup stats');
      }
    },
    async killAll() {
      const deadline = clock.now() + ctx.killTimeoutMs;
      for (;;) {
        const left = await procs();
        if (left.length === 0) return;
        if (clock.now() >= deadline) {
          throw new SandboxError(
            'cgroup_remove',
            SyscallError.of({ syscall: 'kill', errno: 110, code: 'ETIMEDOUT', path: nodes[0]?.dir }),
            `cgroup_remove: ${left.length} process(es) of sandbox ${sandboxId} survived SIGKILL for ${ctx.killTimeoutMs} ms: ${left.slice(0, 10).join(' ')}`,
          );
        }
        try {
          await killOnce();
        } catch (e) {
          throw cgError('cgroup_remove', e, { syscall: 'write', path: nodes[0]?.dir }, 'killing the box');
        }
        await clock.sleep(10);
      }
    },
    async remove() {
      for (const n of nodes) {
        // Only ever a direct child of a box parent Boxlab made (boxlab/ or boxes/) named after this box (checkId bars "/" and "..").
        if (path.posix.basename(n.dir) !== sandboxId || !BOX_PARENT_NAMES.has(path.posix.basename(path.posix.dirname(n.dir)))) {
          throw new Error(`refusing to remove ${n.dir}: not a ${PARENT_NAME}/${sandboxId} or boxes/${sandboxId} cgroup`);
        }
        // Children first, deepest first: rmdir of a cgroup with children is EBUSY (lab mode's delegated subtree).
        if (n.version === 2) for (const d of await descendants(io, n.dir)) await rmdirRetry(d);
        await rmdirRetry(n.dir);
        // v1 parents hold no state, so an emptied one goes too (mkdirLeaf copes with that race).
        // v2 parents keep their subtree_control delegation for the next box; sweepCgroups removes them.
        if (n.version === 1) await removeIfEmpty({ ...ctx, removeTimeoutMs: 200 }, path.posix.dirname(n.dir)).catch(() => {});
      }
    },
    async delegate(uid, gid) {
      return v2Node ? delegateBox(io, v2Node.dir, uid, gid) : null;
    },
    async subtree() {
      return v2Node ? readSubtree(io, v2Node.dir) : [];
    },
  };
}

/**
 * rmdir of an emptied <own>/boxlab. A just-removed child cgroup is offlined asynchronously (kill_css,
 * then a workqueue), and cgroup_destroy_locked() refuses the parent with EBUSY while a child css is
 * still online, so EBUSY is retried briefly as long as no child directory is listed.
 */
export async function removeIfEmpty(ctx: Ctx, p: string): Promise<void> {
  const deadline = ctx.clock.now() + ctx.removeTimeoutMs;
  for (;;) {
    if ((await ctx.io.listDirs(p)).length > 0) return; // in use (another server's box appeared)
    try {
      await ctx.io.rmdir(p);
      return;
    } catch (e) {
      const code = errCode(e);
      if (code === 'ENOENT' || code === 'ENOTEMPTY') return;
      if (code !== 'EBUSY' || ctx.clock.now() >= deadline) throw cgError('cgroup_remove', e, { syscall: 'rmdir', path: p });
      await ctx.clock.sleep(20);
    }
  }
}
